// A patient's remote monitoring (clinician): adherence, treatment time (a timer started here, or
// from a patient conversation's "Log treatment time", proposes an entry, counted only once you
// confirm it), and the clinical report for 7/14/30/90 days, printable (the print stylesheet keeps
// only the report) and as a PDF.
import { formatAge, formatTime, h, notice, replace } from '../dom.js';
import type { Page, PageView } from '../page.js';
import { labelled, select, table } from '../ui.js';
import { periodText, type Adherence } from './rpm-programme.js';

const ACTIVITIES: readonly (readonly [string, string])[] = [
  ['data_review', 'Data review'],
  ['patient_call', 'Call with the patient'],
  ['caregiver_call', 'Call with a caregiver'],
  ['video_visit', 'Video visit'],
  ['care_plan_update', 'Care plan update'],
  ['care_coordination', 'Care coordination'],
  ['medication_adjustment', 'Medication adjustment'],
  ['other', 'Other'],
];

interface TimeEntry {
  id: number;
  clinician: string;
  startedAt: string;
  minutes: number;
  activity: string;
  interactive: boolean;
  state: string;
  note: string | null;
}

interface Report {
  period: { days: number; from: string; to: string; timeZone: string };
  glucose: {
    readings: number;
    mean: number | null;
    timeInRanges: Record<string, number>;
    agp: { hour: number; n: number; p5: number; p25: number; p50: number; p75: number; p95: number }[];
  } | null;
  bloodPressure: {
    readings: number;
    morning: { n: number; systolic: number; diastolic: number } | null;
    evening: { n: number; systolic: number; diastolic: number } | null;
    aboveTarget: number;
  } | null;
  weight: { readings: number; first: number; last: number; change: number; kgPerWeek: number | null } | null;
  spo2: { minutes: number; below90: number; mean: number } | null;
  heartRate: { minutes: number; below50: number; above100: number; mean: number } | null;
  alerts: { raised: number; acknowledged: number; medianMinutesToAck: number | null; unacknowledged: number };
}

const activityLabel = (a: string) => ACTIVITIES.find(([v]) => v === a)?.[1] ?? a;
const bp = (p: { n: number; systolic: number; diastolic: number } | null) =>
  p ? `${p.systolic}/${p.diastolic} mmHg (${p.n})` : 'no readings';

function reportView(r: Report): HTMLElement {
  const section = (title: string, ...body: (Node | string | null)[]) =>
    h('section', { class: 'card report-section' }, h('h3', null, title), ...body);
  const g = r.glucose;
  return h(
    'div',
    { class: 'report' },
    h(
      'p',
      { class: 'meta' },
      `${r.period.from.slice(0, 10)} to ${r.period.to.slice(0, 10)} (${r.period.days} days, ${r.period.timeZone})`,
    ),
    section(
      'Glucose',
      g
        ? h(
            'div',
            null,
            h('p', null, `${g.readings} readings, mean ${g.mean} mg/dL`),
            h(
              'p',
              null,
              `In range (70–180) ${g.timeInRanges.in_range} % · low ${g.timeInRanges.low} % · very low ${g.timeInRanges.very_low} % · high ${g.timeInRanges.high} % · very high ${g.timeInRanges.very_high} %`,
            ),
            table(
              'Glucose by hour of day (percentiles, mg/dL)',
              [
                { label: 'Hour', cell: (x) => `${String(x.hour).padStart(2, '0')}:00` },
                { label: '5th', cell: (x) => String(x.p5) },
                { label: '25th', cell: (x) => String(x.p25) },
                { label: 'Median', cell: (x) => String(x.p50) },
                { label: '75th', cell: (x) => String(x.p75) },
                { label: '95th', cell: (x) => String(x.p95) },
              ],
              g.agp,
            ),
          )
        : h('p', null, 'No readings in the period.'),
    ),
    section(
      'Blood pressure',
      r.bloodPressure
        ? h(
            'p',
            null,
            `Morning ${bp(r.bloodPressure.morning)} · evening ${bp(r.bloodPressure.evening)} · at or above 135/85: ${r.bloodPressure.aboveTarget} %`,
          )
        : h('p', null, 'No readings in the period.'),
    ),
    section(
      'Weight',
      h(
        'p',
        null,
        r.weight
          ? `${r.weight.first} → ${r.weight.last} kg (change ${r.weight.change} kg${r.weight.kgPerWeek === null ? '' : `, ${r.weight.kgPerWeek} kg/week`})`
          : 'No readings in the period.',
      ),
    ),
    section(
      'SpO₂ and heart rate',
      h(
        'p',
        null,
        r.spo2
          ? `SpO₂ mean ${r.spo2.mean} %, below 90 %: ${r.spo2.below90} % of minutes`
          : 'SpO₂: no readings.',
      ),
      h(
        'p',
        null,
        r.heartRate
          ? `Heart rate mean ${r.heartRate.mean} /min, below 50: ${r.heartRate.below50} %, above 100: ${r.heartRate.above100} %`
          : 'Heart rate: no readings.',
      ),
    ),
    section(
      'Alerts',
      h(
        'p',
        null,
        `${r.alerts.raised} raised, ${r.alerts.acknowledged} acknowledged${r.alerts.medianMinutesToAck === null ? '' : ` (median ${r.alerts.medianMinutesToAck} min)`}, ${r.alerts.unacknowledged} not acknowledged`,
      ),
    ),
  );
}

function timeSection(
  view: PageView,
  id: string,
  month: string,
  origin: 'patient_view' | 'messaging',
): HTMLElement {
  const box = h('section', { class: 'card no-print', 'aria-labelledby': 'rpm-time' });
  const status = h('p', { class: 'meta', role: 'status' });
  const minutes = h('input', {
    type: 'number',
    name: 'minutes',
    min: '1',
    max: '480',
    required: true,
    inputmode: 'numeric',
  });
  const activity = select('activity', ACTIVITIES, 'data_review');
  const interactive = h('input', { type: 'checkbox', name: 'interactive' });
  const note = h('textarea', { name: 'note', maxlength: '2000', rows: 2 });
  let startedAt: number | null = null;
  const timer = h('button', { type: 'button', class: 'secondary' }, 'Start timer');
  timer.addEventListener('click', () => {
    if (startedAt === null) {
      startedAt = Date.now();
      timer.textContent = 'Stop timer';
      status.textContent = `Timer running since ${formatTime(startedAt)}.`;
    } else {
      minutes.value = String(Math.max(1, Math.round((Date.now() - startedAt) / 60_000)));
      timer.textContent = 'Start timer';
      status.textContent = 'Timer stopped: check the minutes, then save.';
    }
  });
  const entries = h('div', null);
  const form = h(
    'form',
    null,
    h('div', { class: 'row' }, timer),
    labelled('Minutes', minutes),
    labelled('What was done', activity),
    h(
      'div',
      { class: 'field checkbox' },
      interactive,
      h('label', { for: 'rpm-interactive' }, 'Included a live call or video with the patient or caregiver'),
    ),
    labelled('Note (optional)', note),
    h('button', { type: 'submit' }, 'Save time'),
  );
  interactive.id = 'rpm-interactive';
  const load = async () => {
    const data = await view.api.get<{ entries: TimeEntry[] }>(
      `/patients/${encodeURIComponent(id)}/rpm/time-entries?month=${month}`,
      view.signal,
    );
    const confirmed = data.entries.filter((e) => e.state === 'confirmed').reduce((s, e) => s + e.minutes, 0);
    replace(
      entries,
      h('p', null, `${confirmed} confirmed minutes in ${month}.`),
      table(
        `Time entries of ${month}`,
        [
          { label: 'Start', cell: (e) => formatTime(e.startedAt) },
          { label: 'Minutes', cell: (e) => String(e.minutes) },
          { label: 'What', cell: (e) => `${activityLabel(e.activity)}${e.interactive ? ' (live)' : ''}` },
          { label: 'By', cell: (e) => e.clinician },
          {
            label: 'State',
            cell: (e) => {
              if (e.state !== 'proposed' || e.clinician !== view.session?.username) return e.state;
              const decide = (verb: 'confirm' | 'discard') => {
                const b = h(
                  'button',
                  { type: 'button', class: verb === 'confirm' ? '' : 'secondary' },
                  verb === 'confirm' ? 'Confirm' : 'Discard',
                );
                b.addEventListener('click', () => {
                  view.api
                    .post(`/rpm/time-entries/${e.id}/${verb}`)
                    .then(() => {
                      status.textContent =
                        verb === 'confirm' ? `Confirmed ${e.minutes} minutes.` : 'Discarded.';
                      return load();
                    })
                    .catch(
                      (err: unknown) => (status.textContent = err instanceof Error ? err.message : 'Failed.'),
                    );
                });
                return b;
              };
              return h('span', { class: 'row' }, 'proposed ', decide('confirm'), ' ', decide('discard'));
            },
          },
        ],
        data.entries,
      ),
    );
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = Number(minutes.value);
    if (!Number.isInteger(value) || value < 1 || value > 480) {
      status.textContent = 'Minutes must be a whole number from 1 to 480.';
      minutes.focus();
      return;
    }
    const start = startedAt ?? Date.now() - value * 60_000;
    view.api
      .post<TimeEntry>(`/patients/${encodeURIComponent(id)}/rpm/time-entries`, {
        startedAt: new Date(start).toISOString(),
        minutes: value,
        activity: activity.value,
        interactive: interactive.checked,
        origin,
        ...(note.value.trim() ? { note: note.value.trim() } : {}),
      })
      .then((entry) => {
        startedAt = null;
        form.reset();
        status.textContent = `Saved ${entry.minutes} minutes as a proposal: confirm it below to count it.`;
        return load();
      })
      .catch((err: unknown) => (status.textContent = err instanceof Error ? err.message : 'Could not save.'));
  });
  box.append(h('h2', { id: 'rpm-time' }, 'Treatment time'), form, status, entries);
  load().catch((err: unknown) =>
    replace(entries, notice('error', err instanceof Error ? err.message : 'Could not load time.')),
  );
  return box;
}

export const rpmPatientPage: Page = {
  path: '/patients/:id/rpm',
  title: 'Remote monitoring',
  roles: ['clinician'],
  async render(view) {
    const id = view.params.id!;
    const days = ['7', '14', '30', '90'].includes(view.query.get('days') ?? '')
      ? view.query.get('days')!
      : '30';
    const patient = await view.api.get<{ name: string }>(`/patients/${encodeURIComponent(id)}`, view.signal);
    view.root.append(
      h(
        'p',
        { class: 'no-print' },
        h('a', { href: `#/patients/${encodeURIComponent(id)}` }, `← ${patient.name}`),
      ),
      h('h1', null, `Remote monitoring · ${patient.name}`),
    );
    let adherence: Adherence & { window: { last: string } };
    try {
      adherence = await view.api.get(`/patients/${encodeURIComponent(id)}/rpm/adherence`, view.signal);
    } catch (err) {
      view.root.append(notice('info', err instanceof Error ? err.message : 'Not enrolled.'));
      return;
    }
    if (view.signal.aborted) return;
    view.root.append(
      h(
        'section',
        { class: 'card no-print', 'aria-labelledby': 'rpm-adherence' },
        h('h2', { id: 'rpm-adherence' }, 'Measuring'),
        h('p', null, `${adherence.days} of the last 30 days with readings · ${periodText(adherence.period)}`),
        table(
          'Devices',
          [
            { label: 'Device', cell: (d) => d.deviceId },
            { label: 'Days (30)', cell: (d) => String(d.days) },
            { label: 'Last reading', cell: (d) => (d.lastReadingAt ? formatAge(d.lastReadingAt) : 'never') },
            { label: 'On schedule', cell: (d) => (d.cadenceMet ? 'yes' : 'no') },
          ],
          adherence.devices,
        ),
      ),
      timeSection(
        view,
        id,
        adherence.window.last.slice(0, 7),
        view.query.get('from') === 'messaging' ? 'messaging' : 'patient_view',
      ),
    );
    const period = select(
      'days',
      [
        ['7', '7 days'],
        ['14', '14 days'],
        ['30', '30 days'],
        ['90', '90 days'],
      ],
      days,
    );
    period.addEventListener('change', () =>
      view.navigate(`/patients/${encodeURIComponent(id)}/rpm?days=${period.value}`),
    );
    const pdf = h('button', { type: 'button', class: 'secondary' }, 'Download PDF');
    const print = h('button', { type: 'button', class: 'secondary' }, 'Print');
    const reportStatus = h('p', { class: 'meta', role: 'status' });
    print.addEventListener('click', () => window.print());
    pdf.addEventListener('click', () => {
      view.api
        .download(`/patients/${encodeURIComponent(id)}/rpm/report/pdf?days=${days}`)
        .then((blob) => {
          const url = URL.createObjectURL(blob);
          const a = h('a', { href: url, download: `rpm-report-${id}-${days}d.pdf` });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 1000);
        })
        .catch(
          (err: unknown) =>
            (reportStatus.textContent = err instanceof Error ? err.message : 'Could not download.'),
        );
    });
    const report = await view.api.get<Report>(
      `/patients/${encodeURIComponent(id)}/rpm/report?days=${days}`,
      view.signal,
    );
    if (view.signal.aborted) return;
    view.root.append(
      h(
        'section',
        { class: 'report-page', 'aria-labelledby': 'rpm-report' },
        h('h2', { id: 'rpm-report' }, 'Report'),
        h(
          'div',
          { class: 'filters no-print' },
          labelled('Period', period),
          h('div', { class: 'row' }, pdf, print),
        ),
        reportStatus,
        reportView(report),
      ),
    );
  },
};
