// The patient view (clinician): who the patient is, live values (the SSE stream), open alerts
// to acknowledge, charts of each vital for 6 h / 24 h / 7 d / 30 d from the minute rollups
// (the API's `resolution`), thresholds drawn, devices, and a FHIR R4 download of the range shown.
// A patient who is not accessible shows a refusal and nothing else; break-glass asks for a
// reason, then a banner shows the time left on the grant.
import { ackForm } from '../alert-ack.js';
import { ApiError } from '../api.js';
import { vitalChart, type Bucket } from '../charts.js';
import { formatAge, formatTime, h, notice, replace } from '../dom.js';
import type { Page, PageView } from '../page.js';
import { deviceBadge, severityBadge, vitalCell, type PatientSummary, type VitalSummary } from '../summary.js';
import { KINDS, VITAL_ORDER, ageOf, ruleLabel } from '../vitals.js';
import { ecgStrip } from '../ecg.js';

const RANGES = [
  { key: '6h', label: '6 h', ms: 6 * 3_600_000, resolution: '2m' },
  { key: '24h', label: '24 h', ms: 24 * 3_600_000, resolution: '5m' },
  { key: '7d', label: '7 d', ms: 7 * 86_400_000, resolution: '1h' },
  { key: '30d', label: '30 d', ms: 30 * 86_400_000, resolution: '4h' },
] as const;
type RangeKey = (typeof RANGES)[number]['key'];

interface TelemetryView {
  series: { type: string; buckets: Bucket[] }[];
}

function breakGlass(view: PageView, id: string, again: () => void): HTMLElement {
  const reason = h('textarea', { id: 'bg-reason', minlength: 10, maxlength: 500, rows: 3, required: true });
  const status = h('div', { class: 'form-status' });
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'bg-title', class: 'break-glass' },
    h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'bg-title' }, 'Emergency access (break-glass)'),
      h(
        'p',
        null,
        'This patient is not assigned to you. Emergency access is recorded with your reason, the auditors are told at once, and it ends by itself.',
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'bg-reason' }, 'Why do you need this patient now?'),
        h(
          'p',
          { class: 'hint' },
          'At least 10 characters, e.g. "covering for Dr. Grey, patient deteriorating".',
        ),
        reason,
      ),
      status,
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', value: 'cancel', onclick: () => dialog.close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'danger', value: 'open' }, 'Open with emergency access'),
      ),
    ),
  );
  dialog.querySelector('form')!.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (text.length < 10) {
      status.replaceChildren(notice('error', 'Please give the reason in at least 10 characters.'));
      return;
    }
    view.api
      .post(`/patients/${encodeURIComponent(id)}/break-glass`, { reason: text })
      .then(() => {
        dialog.close();
        again();
      })
      .catch((err: unknown) =>
        status.replaceChildren(
          notice('error', err instanceof Error ? err.message : 'Emergency access failed.'),
        ),
      );
  });
  const open = h(
    'button',
    { type: 'button', class: 'danger', onclick: () => dialog.showModal() },
    'Emergency access…',
  );
  return h(
    'section',
    { class: 'refusal', 'aria-labelledby': 'refusal-title' },
    h('h1', { id: 'refusal-title' }, 'Not your patient'),
    notice(
      'error',
      'This patient is not assigned to you, so nothing about them is shown. If you must see this patient now, use emergency access.',
    ),
    open,
    dialog,
  );
}

function banner(view: PageView, p: PatientSummary, expired: () => void): void {
  if (!p.breakGlassUntil) {
    view.setBanner(null);
    return;
  }
  const until = Date.parse(p.breakGlassUntil);
  const left = h('span', { class: 'left' });
  const el = h(
    'div',
    { class: 'banner', role: 'status' },
    h('span', null, `Emergency access to ${p.name}. Every view is recorded. `),
    left,
  );
  const tick = () => {
    const ms = until - Date.now();
    if (ms <= 0) {
      window.clearInterval(timer);
      expired();
      return;
    }
    const min = Math.ceil(ms / 60_000);
    left.textContent = `${min} min left (until ${new Date(until).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}).`;
  };
  const timer = window.setInterval(tick, 15_000);
  view.signal.addEventListener('abort', () => {
    window.clearInterval(timer);
    view.setBanner(null);
  });
  tick();
  view.setBanner(el);
}

function breachOf(v: VitalSummary, p: PatientSummary): boolean {
  return p.thresholds.some((t) => {
    if (t.type !== v.type) return false;
    if (v.systolic !== undefined)
      return v.systolic >= (t.systolic ?? Infinity) || (v.diastolic ?? 0) >= (t.diastolic ?? Infinity);
    if (v.value === undefined) return false;
    return t.below !== undefined ? v.value < t.below : t.above !== undefined && v.value > t.above;
  });
}

export const patientPage: Page = {
  path: '/patients/:id',
  title: 'Patient',
  roles: ['clinician'],
  async render(view) {
    const id = view.params.id!;
    const at = Number(view.query.get('at')) || undefined;
    let range: RangeKey = at ? '6h' : '24h';
    const window_ = () => {
      const r = RANGES.find((x) => x.key === range)!;
      const to = at ? Math.min(Date.now(), at + r.ms / 2) : Date.now();
      return { r, from: to - r.ms, to };
    };
    const fetchCharts = () => {
      const w = window_();
      const data = view.api.get<TelemetryView>(
        `/patients/${encodeURIComponent(id)}/telemetry?from=${w.from}&to=${w.to}&resolution=${w.r.resolution}`,
        view.signal,
      );
      return { ...w, data };
    };
    // The first charts are asked for with the summary, not after it (both refuse alike).
    let prefetched: ReturnType<typeof fetchCharts> | undefined = fetchCharts();
    prefetched.data.catch(() => {});
    let p: PatientSummary;
    try {
      p = await view.api.get<PatientSummary>(`/me/patients/${encodeURIComponent(id)}`, view.signal);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'PATIENT_NOT_ACCESSIBLE') {
        view.root.append(breakGlass(view, id, () => view.navigate(`/patients/${id}`)));
        return;
      }
      throw err;
    }
    document.title = `${p.name} · VitalGate`;
    banner(view, p, () => view.navigate(`/patients/${id}`));

    // Now: live values.
    const vitals = new Map<string, VitalSummary>(p.vitals.map((v) => [v.type, v]));
    const now = h('dl', { class: 'vitals', 'aria-label': 'Latest values' });
    const drawNow = () =>
      replace(
        now,
        VITAL_ORDER.filter((t) => vitals.has(t)).map((t) => vitalCell(vitals.get(t)!)),
      );
    drawNow();
    const liveState = h('span', { class: 'badge badge-muted', id: 'live-state' }, 'connecting…');
    const ecg = ecgStrip();

    // Alerts.
    const alerts = h('div', { class: 'alerts' });
    // Drawn from the summary the page opened with; asked for again only when an alert changes.
    const drawAlerts = async () => {
      const fresh = await view.api.get<PatientSummary>(`/me/patients/${encodeURIComponent(id)}`, view.signal);
      p.openAlerts = fresh.openAlerts;
      showAlerts();
    };
    const showAlerts = () =>
      replace(
        alerts,
        p.openAlerts.length === 0
          ? h('p', { class: 'meta' }, 'No open alerts.')
          : h(
              'ul',
              { class: 'list' },
              p.openAlerts.map((a) =>
                h(
                  'li',
                  { 'data-alert': a.id },
                  h('div', { class: 'row' }, severityBadge(a.severity), h('strong', null, ruleLabel(a.rule))),
                  h(
                    'p',
                    { class: 'meta' },
                    `Raised ${formatTime(a.raisedAt)} (${formatAge(a.raisedAt)}) by ${a.deviceId}`,
                  ),
                  ackForm(view.api, a.id, () => void drawAlerts()),
                ),
              ),
            ),
      );
    showAlerts();

    // Charts.
    const charts = h('div', { class: 'charts' });
    const chartStatus = h('p', { class: 'meta', role: 'status' });
    let destroyers: (() => void)[] = [];
    const rangeButtons = RANGES.map((r) =>
      h(
        'button',
        {
          type: 'button',
          'aria-pressed': String(r.key === range),
          onclick: () => {
            range = r.key;
            for (const b of rangeButtons) b.setAttribute('aria-pressed', String(b.dataset.range === range));
            void drawCharts();
          },
          'data-range': r.key,
        },
        r.label,
      ),
    );
    const drawCharts = async () => {
      const request = prefetched ?? fetchCharts();
      prefetched = undefined;
      const { r, from, to } = request;
      chartStatus.textContent = 'Loading charts…';
      const data = await request.data;
      for (const d of destroyers) d();
      destroyers = [];
      const cards = [];
      for (const type of VITAL_ORDER) {
        const s = data.series.find((x) => x.type === type);
        if (!s || !s.buckets.some((b) => b.count > 0)) continue;
        const chart = vitalChart(type, s.buckets, p.thresholds, { from, to });
        destroyers.push(chart.destroy);
        cards.push(chart.card);
      }
      replace(charts, cards.length ? cards : h('p', { class: 'meta' }, 'No readings in this period.'));
      chartStatus.textContent = `${r.label} up to ${formatTime(to)}${at ? ', around the alert' : ''}`;
      charts.dataset.loaded = r.key;
    };
    view.signal.addEventListener('abort', () => destroyers.forEach((d) => d()));

    const fhir = h(
      'button',
      {
        type: 'button',
        onclick: () => {
          const { r, from, to } = window_();
          view.api
            .download(`/patients/${encodeURIComponent(id)}/observations?from=${from}&to=${to}`)
            .then((blob) => {
              const url = URL.createObjectURL(blob);
              const a = h('a', { href: url, download: `observations-${id}-${r.key}.json` });
              document.body.append(a);
              a.click();
              a.remove();
              setTimeout(() => URL.revokeObjectURL(url), 1000);
            })
            .catch((err: unknown) =>
              chartStatus.replaceChildren(
                notice('error', err instanceof Error ? err.message : 'Download failed.'),
              ),
            );
        },
      },
      'Download FHIR (range shown)',
    );

    const devices = h(
      'div',
      { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Devices of this patient' },
      h(
        'table',
        null,
        h('caption', { class: 'visually-hidden' }, 'Devices of this patient'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            h('th', null, 'Device'),
            h('th', null, 'Kind'),
            h('th', null, 'State'),
            h('th', null, 'Last reading'),
          ),
        ),
        h(
          'tbody',
          null,
          p.devices.map((d) =>
            h(
              'tr',
              null,
              h('td', null, h('code', null, d.id)),
              h('td', null, KINDS[d.kind] ?? d.kind),
              h('td', null, deviceBadge(d, false)),
              h('td', null, d.lastReadingAt ? formatAge(d.lastReadingAt) : '–'),
            ),
          ),
        ),
      ),
    );

    view.root.append(
      h(
        'div',
        { class: 'patient-head' },
        h('h1', null, p.name),
        h(
          'span',
          { class: 'meta' },
          `${ageOf(p.birthDate)} years · born ${p.birthDate}${p.mrn ? ` · MRN ${p.mrn}` : ''}`,
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'now-title' },
        h('div', { class: 'row' }, h('h2', { id: 'now-title' }, 'Now'), liveState),
        now,
        ecg.el,
      ),
      h(
        'section',
        { 'aria-labelledby': 'alerts-title' },
        h(
          'div',
          { class: 'row' },
          h('h2', { id: 'alerts-title' }, 'Open alerts'),
          h('a', { href: `#/patients/${encodeURIComponent(p.id)}/alert-settings` }, 'Alert thresholds'),
          h('a', { href: `#/patients/${encodeURIComponent(p.id)}/rpm` }, 'Remote monitoring'),
        ),
        alerts,
      ),
      h(
        'section',
        { 'aria-labelledby': 'charts-title' },
        h('h2', { id: 'charts-title' }, 'Trends'),
        h(
          'div',
          { class: 'row' },
          h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' }, rangeButtons),
          fhir,
        ),
        chartStatus,
        charts,
      ),
      h(
        'section',
        { 'aria-labelledby': 'devices-title' },
        h('h2', { id: 'devices-title' }, 'Devices'),
        devices,
      ),
    );

    // Live values.
    const source = new EventSource(`/api/v1/patients/${encodeURIComponent(id)}/live`);
    view.signal.addEventListener('abort', () => source.close());
    source.addEventListener('open', () => {
      liveState.textContent = 'live';
      liveState.className = 'badge badge-ok';
    });
    source.addEventListener('reading', (event) => {
      const r = JSON.parse((event as MessageEvent<string>).data) as {
        ts: number;
        type: string;
        value?: number;
        systolic?: number;
        diastolic?: number;
        samples?: number[];
        sampleRateHz?: number;
      };
      if (r.type === 'ecg' && r.samples && r.sampleRateHz) {
        ecg.push(r.samples, r.sampleRateHz);
        return;
      }
      if (!(VITAL_ORDER as readonly string[]).includes(r.type)) return;
      const previous = vitals.get(r.type);
      const v: VitalSummary = {
        type: r.type,
        ts: new Date(r.ts).toISOString(),
        ...(r.systolic !== undefined
          ? { systolic: r.systolic, diastolic: r.diastolic ?? 0 }
          : { value: r.value ?? 0 }),
        trend: previous?.trend ?? null,
        breach: false,
        exact: true,
      };
      v.breach = breachOf(v, p);
      vitals.set(r.type, v);
      drawNow();
    });
    source.addEventListener('alert', () => void drawAlerts().catch(() => {}));
    source.addEventListener('end', () => {
      source.close();
      liveState.textContent = 'stopped';
      liveState.className = 'badge badge-muted';
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        liveState.textContent = 'stopped';
        liveState.className = 'badge badge-muted';
      } else {
        liveState.textContent = 'reconnecting…';
      }
    });
    await drawCharts();
  },
};
