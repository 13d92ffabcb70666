// My patients (clinician): every assigned patient (and break-glass ones) as a tile with the
// latest value of each vital, its time and trend, the open alerts and whether the devices are
// reporting; attention first (open critical alerts, other alerts, silent devices). Refreshed
// every 15 s while the page is open; nothing is kept after leaving it.
import { ageOf, ruleLabel } from '../vitals.js';
import { formatAge, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { deviceBadge, severityBadge, vitalCell, type PatientSummary } from '../summary.js';

const REFRESH_MS = 15_000;

const ATTENTION_TEXT: Record<PatientSummary['attention'], string | null> = {
  critical: 'Critical alert open',
  high: 'Alert open',
  stale: 'A device is not reporting',
  ok: null,
};

function tile(p: PatientSummary): HTMLElement {
  const attention = ATTENTION_TEXT[p.attention];
  return h(
    'li',
    { class: `tile attention-${p.attention}`, 'data-patient': p.id },
    h(
      'div',
      { class: 'row' },
      h('h2', null, h('a', { href: `#/patients/${encodeURIComponent(p.id)}` }, p.name)),
      attention ? severityBadgeFor(p, attention) : null,
    ),
    h(
      'p',
      { class: 'meta' },
      `${ageOf(p.birthDate)} years`,
      p.mrn ? ` · MRN ${p.mrn}` : '',
      p.access === 'break_glass' ? ' · emergency access' : '',
    ),
    p.vitals.length > 0
      ? h('dl', { class: 'vitals' }, p.vitals.map(vitalCell))
      : h('p', { class: 'meta' }, 'No readings in the last 24 hours.'),
    p.openAlerts.length > 0
      ? h(
          'ul',
          { class: 'alerts-mini', 'aria-label': 'Open alerts' },
          p.openAlerts.map((a) =>
            h(
              'li',
              null,
              severityBadge(a.severity),
              ' ',
              h(
                'a',
                { href: `#/patients/${encodeURIComponent(p.id)}?at=${Date.parse(a.raisedAt)}` },
                ruleLabel(a.rule),
              ),
              ` · ${formatAge(a.raisedAt)}`,
            ),
          ),
        )
      : null,
    h(
      'div',
      { class: 'devices-line', 'aria-label': 'Devices' },
      p.devices.map((d) => deviceBadge(d)),
    ),
  );
}

function severityBadgeFor(p: PatientSummary, text: string): HTMLElement {
  const cls =
    p.attention === 'critical' ? 'badge-critical' : p.attention === 'high' ? 'badge-high' : 'badge-muted';
  return h('span', { class: `badge ${cls}` }, text);
}

export const myPatientsPage: Page = {
  path: '/patients',
  title: 'My patients',
  roles: ['clinician'],
  nav: { label: 'My patients', order: 1 },
  async render(view) {
    const status = h('p', { class: 'meta', role: 'status' });
    const list = h('ul', { class: 'tiles', 'aria-label': 'Patients' });
    view.root.append(h('div', { class: 'row' }, h('h1', null, 'My patients'), status), list);
    const load = async () => {
      const data = await view.api.get<{ generatedAt: string; patients: PatientSummary[] }>(
        '/me/patients',
        view.signal,
      );
      if (view.signal.aborted) return;
      if (data.patients.length === 0) {
        replace(
          list,
          h('li', null, notice('info', 'No patients are assigned to you. Ask the ward administrator.')),
        );
      } else {
        replace(list, data.patients.map(tile));
      }
      status.textContent = `Updated ${new Date(data.generatedAt).toLocaleTimeString()}`;
    };
    await load();
    const timer = window.setInterval(() => {
      load().catch((err: unknown) => {
        if (!view.signal.aborted)
          status.textContent = err instanceof Error ? err.message : 'Could not refresh.';
      });
    }, REFRESH_MS);
    view.signal.addEventListener('abort', () => window.clearInterval(timer));
  },
};
