// What a clinician's "My patients" needs in one answer, per accessible patient: the latest value
// of each vital with its time and trend, the open alerts, the devices and whether each is
// reporting, the alert thresholds in force (defaults and the patient's overrides), and the
// break-glass grant's end when that is the basis of access. Latest values, device activity and
// hourly means come from LatestVitals (kept from the live feed, seeded once from storage).
import type { ReadingType } from '../../core/domain.js';
import { AlertDefaultRepository } from '../../core/store/alert-defaults.js';
import { AlertParameterRepository } from '../../core/store/alert-settings.js';
import { BreakGlassGrantRepository } from '../../core/store/break-glass-grants.js';
import type { AlertRecord } from '../../core/store/ingest-state.js';
import { ALERT_RULES } from '../../ingest/alert-rules.js';
import type { AccessBasis } from '../access/phi-guard.js';
import type { ApiContext } from '../context.js';
import { LatestVitals, previousHourMean } from './latest-vitals.js';

/** The vitals the summary shows (ECG waveforms and locations are for the patient view). */
export const SUMMARY_TYPES: readonly ReadingType[] = [
  'heart_rate',
  'spo2',
  'blood_pressure',
  'respiratory_rate',
  'body_temperature',
  'blood_glucose',
  'body_weight',
];
const HOUR_MS = 3_600_000;
/** Patients seeded at once when priming (InfluxDB also serves ingest meanwhile). */
const PRIME_CONCURRENCY = 4;
/** Kinds that stream; a silence of this long means the device is not reporting. */
const STREAM_SILENCE_MS = 2 * 60_000;
/** Kinds that measure now and then (BP, glucose, scale, thermometer): a day and a bit. */
const SPOT_SILENCE_MS = 26 * HOUR_MS;
const STREAMING_KINDS = new Set(['wearable', 'pulse_oximeter']);
const TYPES_BY_KIND: Readonly<Record<string, readonly ReadingType[]>> = {
  wearable: ['heart_rate', 'spo2', 'body_temperature'],
  pulse_oximeter: ['spo2', 'heart_rate'],
  bp_monitor: ['blood_pressure', 'heart_rate'],
  glucometer: ['blood_glucose'],
  weight_scale: ['body_weight'],
  thermometer: ['body_temperature'],
};

export interface VitalSummary {
  type: ReadingType;
  ts: string;
  /** Scalar value, or systolic/diastolic for blood pressure. */
  value?: number;
  systolic?: number;
  diastolic?: number;
  /** Compared with the hour before: rising, falling or steady (within 3 %); null without one. */
  trend: 'rising' | 'falling' | 'steady' | null;
  /** Whether the value is past an alert threshold in force. */
  breach: boolean;
  /** From the last minutes' readings (exact) or the hourly mean (older). */
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
  type: ReadingType;
  severity: string;
  /** For scalar rules. */
  below?: number;
  above?: number;
  /** For blood pressure. */
  systolic?: number;
  diastolic?: number;
}

export interface PatientSummary {
  id: string;
  name: string;
  birthDate: string;
  mrn?: string;
  access: AccessBasis;
  breakGlassUntil: string | null;
  vitals: VitalSummary[];
  openAlerts: { id: number; rule: string; severity: string; raisedAt: string; deviceId: string }[];
  devices: DeviceSummary[];
  thresholds: Threshold[];
  attention: 'critical' | 'high' | 'stale' | 'ok';
}

function thresholdsFor(
  program: Map<string, Map<string, number>>,
  overrides: Map<string, Map<string, number>>,
): Threshold[] {
  const out: Threshold[] = [];
  for (const rule of ALERT_RULES) {
    if (rule.readingType === 'location') continue;
    const p = {
      ...rule.defaults,
      ...Object.fromEntries(program.get(rule.id) ?? []),
      ...Object.fromEntries(overrides.get(rule.id) ?? []),
    } as Record<string, number>;
    const base = { rule: rule.id, type: rule.readingType, severity: rule.severity };
    if (rule.readingType === 'blood_pressure') {
      out.push({ ...base, systolic: p.systolic!, diastolic: p.diastolic! });
    } else if (rule.id.endsWith('_low')) {
      out.push({ ...base, below: p.threshold! });
    } else {
      out.push({ ...base, above: p.threshold! });
    }
  }
  return out;
}

function breaches(v: Omit<VitalSummary, 'breach'>, thresholds: readonly Threshold[]): boolean {
  return thresholds.some((t) => {
    if (t.type !== v.type) return false;
    if (v.systolic !== undefined) return v.systolic >= t.systolic! || v.diastolic! >= t.diastolic!;
    if (v.value === undefined) return false;
    return t.below !== undefined ? v.value < t.below : t.above !== undefined && v.value > t.above;
  });
}

function trendOf(latest: number | undefined, before: number | undefined): VitalSummary['trend'] {
  if (latest === undefined || before === undefined || before === 0) return null;
  const change = (latest - before) / Math.abs(before);
  return change > 0.03 ? 'rising' : change < -0.03 ? 'falling' : 'steady';
}

export class CareSummary {
  private readonly parameters: AlertParameterRepository;
  private readonly programDefaults: AlertDefaultRepository;
  private readonly grants: BreakGlassGrantRepository;
  private readonly latest: LatestVitals;

  constructor(private readonly ctx: ApiContext) {
    this.parameters = new AlertParameterRepository(ctx.store.db);
    this.programDefaults = new AlertDefaultRepository(ctx.store.db);
    this.grants = new BreakGlassGrantRepository(ctx.store.db);
    this.latest = new LatestVitals(ctx.telemetry, SUMMARY_TYPES, ctx.now);
  }

  /** Drops what is kept in memory of a patient (erasure). */
  forget(patientId: string): void {
    this.latest.forget(patientId);
  }

  /**
   * Seeds the latest vitals of these patients, a few at a time, until done or `stopped()` says
   * so. A summary asked for meanwhile waits for its patient's seed rather than reading twice.
   * Errors are counted, not thrown: that patient is seeded when first asked for.
   */
  async prime(patientIds: readonly string[], stopped: () => boolean): Promise<number> {
    let next = 0;
    let failed = 0;
    const worker = async () => {
      while (next < patientIds.length && !stopped()) {
        await this.latest.of(patientIds[next++]!).catch(() => {
          failed += 1;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PRIME_CONCURRENCY, patientIds.length) }, worker));
    return failed;
  }

  async patient(username: string, patientId: string, basis: AccessBasis): Promise<PatientSummary> {
    const { ctx } = this;
    const now = ctx.now();
    const demographics = ctx.patients.get(patientId);
    const thresholds = thresholdsFor(this.programDefaults.all(), this.parameters.forPatient(patientId));
    const known = await this.latest.of(patientId);
    const vitals: VitalSummary[] = [];
    const lastSeenByType = new Map<ReadingType, number>();
    for (const type of SUMMARY_TYPES) {
      const latest = known.latest.get(type);
      if (!latest) continue;
      const v: Omit<VitalSummary, 'breach'> = {
        type,
        ts: new Date(latest.ts).toISOString(),
        ...(latest.values.systolic !== undefined
          ? { systolic: latest.values.systolic, diastolic: latest.values.diastolic ?? 0 }
          : { value: latest.values.value ?? 0 }),
        trend: trendOf(
          latest.values.systolic ?? latest.values.value,
          previousHourMean(known, type, latest.exact ? latest.ts : latest.ts - 1),
        ),
        exact: latest.exact,
      };
      lastSeenByType.set(type, latest.ts);
      vitals.push({ ...v, breach: breaches(v, thresholds) });
    }
    const lastByDevice = known.lastByDevice;
    const devices = ctx.store.devices.list({ patientId }).map((d): DeviceSummary => {
      const spotLast = Math.max(0, ...(TYPES_BY_KIND[d.kind] ?? []).map((t) => lastSeenByType.get(t) ?? 0));
      const last = lastByDevice.get(d.id) ?? (STREAMING_KINDS.has(d.kind) ? 0 : spotLast);
      const silence = STREAMING_KINDS.has(d.kind) ? STREAM_SILENCE_MS : SPOT_SILENCE_MS;
      return {
        id: d.id,
        kind: d.kind,
        status: d.status,
        lastReadingAt: last > 0 ? new Date(last).toISOString() : null,
        reporting: d.status === 'active' && last > 0 && now - last < silence,
      };
    });
    const openAlerts = ctx.store.alerts
      .list({ patientId, status: 'open', limit: 100 })
      .map((a: AlertRecord) => ({
        id: a.id,
        rule: a.rule,
        severity: a.severity,
        raisedAt: new Date(a.raisedAt).toISOString(),
        deviceId: a.deviceId,
      }));
    const grant = basis === 'break_glass' ? this.grants.active(username, patientId, now) : undefined;
    const attention = openAlerts.some((a) => a.severity === 'critical')
      ? 'critical'
      : openAlerts.length > 0
        ? 'high'
        : devices.some((d) => d.status === 'active' && !d.reporting)
          ? 'stale'
          : 'ok';
    return {
      id: patientId,
      name: demographics.name,
      birthDate: demographics.birthDate,
      ...(demographics.mrn ? { mrn: demographics.mrn } : {}),
      access: basis,
      breakGlassUntil: grant ? new Date(grant.expiresAt).toISOString() : null,
      vitals,
      openAlerts,
      devices,
      thresholds,
      attention,
    };
  }
}

const ATTENTION_ORDER = { critical: 0, high: 1, stale: 2, ok: 3 } as const;

/** Attention first: open critical alerts, then other open alerts, then silent devices; then by name. */
export function byAttention(a: PatientSummary, b: PatientSummary): number {
  return (
    ATTENTION_ORDER[a.attention] - ATTENTION_ORDER[b.attention] ||
    b.openAlerts.length - a.openAlerts.length ||
    a.name.localeCompare(b.name)
  );
}
