// The RPM programme view (clinician): every enrolled patient of yours, falling behind first —
// days with sensed readings in the rolling 30 days, where the running 30-day period stands
// against the 16 days 99454 needs, the last reading and the devices not keeping their cadence —
// with a filter by days of data. Each patient opens their remote-monitoring page.
import { formatAge, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { labelled, select, table } from '../ui.js';

export interface Adherence {
  patientId: string;
  days: number;
  lastReadingAt: string | null;
  period: {
    first: string;
    last: string;
    days: number;
    daysLeft: number;
    needed: number;
    reachable: boolean;
  } | null;
  devices: {
    deviceId: string;
    kind: string;
    days: number;
    lastReadingAt: string | null;
    cadenceMet: boolean;
  }[];
  behind: number;
}

const FILTERS: readonly (readonly [string, string])[] = [
  ['', 'Everyone'],
  ['0-15', 'Fewer than 16 days'],
  ['0-5', '5 days or fewer'],
  ['16-30', '16 days or more'],
];

export function periodText(p: Adherence['period']): string {
  if (!p) return 'Not monitored today';
  if (p.needed === 0) return `16 days met (${p.days} so far)`;
  if (!p.reachable) return `Cannot reach 16: ${p.days} days, ${p.daysLeft} left`;
  return `Needs ${p.needed} more in ${p.daysLeft} days`;
}

export const rpmProgrammePage: Page = {
  path: '/rpm',
  title: 'RPM programme',
  roles: ['clinician'],
  nav: { label: 'RPM programme', order: 3 },
  async render(view) {
    const range = view.query.get('days') ?? '';
    const filter = select('days', FILTERS, range);
    const status = h('p', { class: 'meta', role: 'status' });
    const list = h('div', null);
    filter.addEventListener('change', () =>
      view.navigate(filter.value ? `/rpm?days=${filter.value}` : '/rpm'),
    );
    view.root.append(
      h('h1', null, 'RPM programme'),
      h(
        'p',
        { class: 'meta' },
        'Falling behind first: days with readings sent by the devices in the last 30 days.',
      ),
      h('div', { class: 'filters', role: 'search' }, labelled('Days of data', filter)),
      status,
      list,
    );
    const [min, max] = range ? range.split('-') : [];
    const query = range ? `?minDays=${min}&maxDays=${max}` : '';
    const [data, patients] = await Promise.all([
      view.api.get<{ patients: Adherence[]; timeZone: string }>(`/rpm/programme${query}`, view.signal),
      view.api.get<{ id: string; name: string }[]>('/patients', view.signal),
    ]);
    if (view.signal.aborted) return;
    const names = new Map(patients.map((p) => [p.id, p.name]));
    status.textContent = `${data.patients.length} patient(s) · days in ${data.timeZone}`;
    if (data.patients.length === 0) {
      replace(
        list,
        notice(
          'info',
          range ? 'No enrolled patient matches this filter.' : 'None of your patients is enrolled.',
        ),
      );
      return;
    }
    replace(
      list,
      table(
        'Enrolled patients, falling behind first',
        [
          {
            label: 'Patient',
            cell: (p) =>
              h(
                'a',
                { href: `#/patients/${encodeURIComponent(p.patientId)}/rpm` },
                names.get(p.patientId) ?? p.patientId,
              ),
          },
          { label: 'Days (30)', cell: (p) => String(p.days) },
          {
            label: 'This period',
            cell: (p) =>
              h(
                'span',
                {
                  class: `badge ${p.period && !p.period.reachable ? 'badge-critical' : p.period?.needed === 0 ? 'badge-ok' : 'badge-muted'}`,
                },
                periodText(p.period),
              ),
          },
          { label: 'Last reading', cell: (p) => (p.lastReadingAt ? formatAge(p.lastReadingAt) : 'never') },
          {
            label: 'Devices behind',
            cell: (p) =>
              p.behind === 0
                ? 'none'
                : p.devices
                    .filter((d) => !d.cadenceMet)
                    .map((d) => d.deviceId)
                    .join(', '),
          },
        ],
        data.patients,
        (p) => ({ 'data-patient': p.patientId }),
      ),
    );
  },
};
