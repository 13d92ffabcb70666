// The shapes of GET /me/patients (dashboard-api/services/care-summary.ts), and the pieces of a
// patient's summary that more than one page draws.
import { formatAge, h } from './dom.js';
import { KINDS, TREND_TEXT, formatValue, unitOf, vitalLabel } from './vitals.js';

export interface VitalSummary {
  type: string;
  ts: string;
  value?: number;
  systolic?: number;
  diastolic?: number;
  trend: 'rising' | 'falling' | 'steady' | null;
  breach: boolean;
  exact: boolean;
}

export interface DeviceSummary {
  id: string;
  kind: string;
  status: string;
  lastReadingAt: string | null;
  reporting: boolean;
}

export interface Threshold {
  rule: string;
  type: string;
  severity: string;
  below?: number;
  above?: number;
  systolic?: number;
  diastolic?: number;
}

export interface OpenAlert {
  id: number;
  rule: string;
  severity: string;
  raisedAt: string;
  deviceId: string;
}

export interface PatientSummary {
  id: string;
  name: string;
  birthDate: string;
  mrn?: string;
  access: 'assignment' | 'break_glass';
  breakGlassUntil: string | null;
  vitals: VitalSummary[];
  openAlerts: OpenAlert[];
  devices: DeviceSummary[];
  thresholds: Threshold[];
  attention: 'critical' | 'high' | 'stale' | 'ok';
}

export function vitalCell(v: VitalSummary): HTMLElement {
  return h(
    'div',
    { class: `vital${v.breach ? ' breach' : ''}`, 'data-type': v.type, 'data-ts': v.ts },
    h('dt', null, vitalLabel(v.type)),
    h(
      'dd',
      null,
      h('span', { class: 'value' }, formatValue(v.type, v)),
      h('span', { class: 'unit' }, unitOf(v.type)),
      v.trend ? h('span', { class: 'trend' }, TREND_TEXT[v.trend]) : null,
      v.breach ? h('span', { class: 'visually-hidden' }, ' (past the alert threshold)') : null,
      h('span', { class: 'age' }, v.exact ? formatAge(v.ts) : `about ${formatAge(v.ts)}`),
    ),
  );
}

export function deviceBadge(d: DeviceSummary, withKind = true): HTMLElement {
  const state =
    d.status !== 'active' ? d.status : d.reporting ? 'reporting' : d.lastReadingAt ? 'silent' : 'no data';
  const cls =
    d.status !== 'active' || !d.reporting
      ? d.status === 'active'
        ? 'badge-high'
        : 'badge-muted'
      : 'badge-ok';
  return h(
    'span',
    { class: `badge ${cls}`, title: d.id },
    withKind ? `${KINDS[d.kind] ?? d.kind}: ${state}` : state,
  );
}

export function severityBadge(severity: string): HTMLElement {
  return h('span', { class: `badge badge-${severity === 'critical' ? 'critical' : 'high'}` }, severity);
}
