// The report a clinician puts in the chart, for one patient and period (7, 14, 30 or 90 days),
// from per-minute sums of the sealed rollups (never from plaintext at rest): a minute's mean
// stands for the readings of that minute (one reading for spot measurements).
//
// - Glucose: time in ranges by the international consensus on time in range (Battelino et al.,
//   Diabetes Care 2019): very low < 54, low 54–69, in range 70–180, high 181–250, very high
//   > 250 mg/dL, as shares of the readings (minutes); and the ambulatory glucose profile: the
//   5th, 25th, 50th, 75th and 95th percentiles per hour of the day (site time zone).
// - Blood pressure: morning (04:00–11:59) and evening (18:00–23:59) averages, and the share of
//   readings at or above the home target 135/85 mmHg (the home-measurement threshold of the
//   AHA/ESH guidelines).
// - Weight: first and last, the change, and the trend (least-squares slope, kg per week).
// - SpO2 and heart rate: the share of minutes with readings below 90 % SpO2, below 50 /min and
//   above 100 /min.
// - Alerts: how many were raised, and how fast they were acknowledged (median and longest).
//
// Percentiles interpolate linearly between closest ranks (Hyndman and Fan's type 7, what R and
// NumPy use by default).
import type { ReadingType } from '../core/domain.js';
import type { RaisedAlert } from '../core/store/patient-alerts.js';
import type { ReadingSums } from '../ingest/reading-stats.js';
import type { SiteCalendar } from './site-calendar.js';

export const REPORT_PERIODS = [7, 14, 30, 90] as const;
export type ReportPeriod = (typeof REPORT_PERIODS)[number];

export const GLUCOSE_RANGES = [
  { band: 'very_low', below: 54 },
  { band: 'low', below: 70 },
  { band: 'in_range', below: 181 },
  { band: 'high', below: 251 },
  { band: 'very_high', below: Infinity },
] as const;
export const AGP_PERCENTILES = [5, 25, 50, 75, 95] as const;
export const BP_HOME_TARGET = { systolic: 135, diastolic: 85 };
export const SPO2_LOW = 90;
export const HR_LOW = 50;
export const HR_HIGH = 100;

/** Per-minute sums by type, as the telemetry reader gives them. */
export type MinuteSumsByType = ReadonlyMap<ReadingType, ReadonlyMap<number, ReadingSums>>;

export interface ClinicalReport {
  patientId: string;
  period: { days: number; from: string; to: string; timeZone: string };
  glucose: {
    readings: number;
    mean: number | null;
    timeInRanges: Record<(typeof GLUCOSE_RANGES)[number]['band'], number>;
    /** Per local hour 0-23: the percentiles, or null for an hour without readings. */
    agp: ({ hour: number; n: number } & Record<`p${(typeof AGP_PERCENTILES)[number]}`, number>)[];
  } | null;
  bloodPressure: {
    readings: number;
    morning: { n: number; systolic: number; diastolic: number } | null;
    evening: { n: number; systolic: number; diastolic: number } | null;
    aboveTarget: number;
    target: { systolic: number; diastolic: number };
  } | null;
  weight: { readings: number; first: number; last: number; change: number; kgPerWeek: number | null } | null;
  spo2: { minutes: number; below90: number; mean: number } | null;
  heartRate: { minutes: number; below50: number; above100: number; mean: number } | null;
  alerts: {
    raised: number;
    acknowledged: number;
    medianMinutesToAck: number | null;
    longestMinutesToAck: number | null;
    unacknowledged: number;
  };
}

/** The q-th percentile (0-100) of sorted values, linear between closest ranks (type 7). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('no values');
  const h = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
const share = (n: number, of: number) => (of === 0 ? 0 : round((100 * n) / of, 1));

function means(
  stats: ReadonlyMap<number, ReadingSums> | undefined,
  component: 'value' | 'systolic' | 'diastolic',
) {
  const out: { minute: number; v: number }[] = [];
  for (const [minute, s] of stats ?? []) {
    const c = s[component];
    if (c && c.n > 0) out.push({ minute, v: c.sum / c.n });
  }
  return out.sort((a, b) => a.minute - b.minute);
}

export function clinicalReport(input: {
  patientId: string;
  days: ReportPeriod;
  from: number;
  to: number;
  sums: MinuteSumsByType;
  alerts: readonly RaisedAlert[];
  calendar: SiteCalendar;
}): ClinicalReport {
  const { sums: stats, calendar } = input;
  return {
    patientId: input.patientId,
    period: {
      days: input.days,
      from: new Date(input.from).toISOString(),
      to: new Date(input.to).toISOString(),
      timeZone: calendar.timeZone,
    },
    glucose: glucose(means(stats.get('blood_glucose'), 'value'), calendar),
    bloodPressure: bloodPressure(stats.get('blood_pressure'), calendar),
    weight: weight(means(stats.get('body_weight'), 'value')),
    spo2: below(means(stats.get('spo2'), 'value'), SPO2_LOW),
    heartRate: heartRate(means(stats.get('heart_rate'), 'value')),
    alerts: alertSummary(input.alerts),
  };
}

function glucose(values: { minute: number; v: number }[], calendar: SiteCalendar): ClinicalReport['glucose'] {
  if (values.length === 0) return null;
  const counts = Object.fromEntries(GLUCOSE_RANGES.map((r) => [r.band, 0])) as Record<string, number>;
  const byHour: number[][] = Array.from({ length: 24 }, () => []);
  for (const { minute, v } of values) {
    counts[GLUCOSE_RANGES.find((r) => v < r.below)!.band]! += 1;
    byHour[calendar.timeOf(minute).hour]!.push(v);
  }
  const agp: NonNullable<ClinicalReport['glucose']>['agp'] = [];
  byHour.forEach((hourValues, hour) => {
    if (hourValues.length === 0) return;
    hourValues.sort((a, b) => a - b);
    const p = Object.fromEntries(AGP_PERCENTILES.map((q) => [`p${q}`, round(percentile(hourValues, q))]));
    agp.push({
      hour,
      n: hourValues.length,
      ...(p as Record<`p${(typeof AGP_PERCENTILES)[number]}`, number>),
    });
  });
  return {
    readings: values.length,
    mean: round(values.reduce((s, x) => s + x.v, 0) / values.length),
    timeInRanges: Object.fromEntries(
      GLUCOSE_RANGES.map((r) => [r.band, share(counts[r.band]!, values.length)]),
    ) as NonNullable<ClinicalReport['glucose']>['timeInRanges'],
    agp,
  };
}

function bloodPressure(
  stats: ReadonlyMap<number, ReadingSums> | undefined,
  calendar: SiteCalendar,
): ClinicalReport['bloodPressure'] {
  const sys = means(stats, 'systolic');
  const dia = new Map(means(stats, 'diastolic').map((x) => [x.minute, x.v]));
  if (sys.length === 0) return null;
  const part = (from: number, to: number) => {
    const inPart = sys.filter(({ minute }) => {
      const h = calendar.timeOf(minute).hour;
      return h >= from && h < to;
    });
    if (inPart.length === 0) return null;
    return {
      n: inPart.length,
      systolic: round(inPart.reduce((s, x) => s + x.v, 0) / inPart.length),
      diastolic: round(inPart.reduce((s, x) => s + (dia.get(x.minute) ?? 0), 0) / inPart.length),
    };
  };
  const above = sys.filter(
    ({ minute, v }) => v >= BP_HOME_TARGET.systolic || (dia.get(minute) ?? 0) >= BP_HOME_TARGET.diastolic,
  ).length;
  return {
    readings: sys.length,
    morning: part(4, 12),
    evening: part(18, 24),
    aboveTarget: share(above, sys.length),
    target: BP_HOME_TARGET,
  };
}

function weight(values: { minute: number; v: number }[]): ClinicalReport['weight'] {
  if (values.length === 0) return null;
  const first = values[0]!.v;
  const last = values.at(-1)!.v;
  let kgPerWeek: number | null = null;
  if (values.length >= 2) {
    const week = 7 * 86_400_000;
    const xs = values.map((x) => (x.minute - values[0]!.minute) / week);
    const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
    const my = values.reduce((s, x) => s + x.v, 0) / values.length;
    let num = 0;
    let den = 0;
    xs.forEach((x, i) => {
      num += (x - mx) * (values[i]!.v - my);
      den += (x - mx) ** 2;
    });
    kgPerWeek = den === 0 ? null : round(num / den, 2);
  }
  return {
    readings: values.length,
    first: round(first),
    last: round(last),
    change: round(last - first),
    kgPerWeek,
  };
}

function below(values: { v: number }[], threshold: number): ClinicalReport['spo2'] {
  if (values.length === 0) return null;
  return {
    minutes: values.length,
    below90: share(values.filter((x) => x.v < threshold).length, values.length),
    mean: round(values.reduce((s, x) => s + x.v, 0) / values.length),
  };
}

function heartRate(values: { v: number }[]): ClinicalReport['heartRate'] {
  if (values.length === 0) return null;
  return {
    minutes: values.length,
    below50: share(values.filter((x) => x.v < HR_LOW).length, values.length),
    above100: share(values.filter((x) => x.v > HR_HIGH).length, values.length),
    mean: round(values.reduce((s, x) => s + x.v, 0) / values.length),
  };
}

function alertSummary(alerts: readonly RaisedAlert[]): ClinicalReport['alerts'] {
  const waits = alerts
    .filter((a) => a.ackedAt !== null)
    .map((a) => (a.ackedAt! - a.raisedAt) / 60_000)
    .sort((a, b) => a - b);
  return {
    raised: alerts.length,
    acknowledged: waits.length,
    medianMinutesToAck: waits.length ? round(percentile(waits, 50)) : null,
    longestMinutesToAck: waits.length ? round(waits.at(-1)!) : null,
    unacknowledged: alerts.length - waits.length,
  };
}
