// Builds a patient's clinical report (clinical-report.ts) for the last 7/14/30/90 days of the
// site's calendar: the minute statistics come from the telemetry reader's sealed minute rollups,
// the alerts from the control plane.
import type { ReadingType } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import type { Db } from '../core/store/database.js';
import { alertsRaisedBetween } from '../core/store/patient-alerts.js';
import type { ReadingStats } from '../ingest/reading-stats.js';
import { clinicalReport, type ClinicalReport, type ReportPeriod } from './clinical-report.js';
import { addDays, type SiteCalendar } from './site-calendar.js';

const MINUTE = 60_000;
/** Minute statistics are read in slices of this length (whole minutes). */
const SLICE_MS = 3 * 86_400_000;
/** Slices in flight at once. */
const CONCURRENCY = 4;
export const REPORT_TYPES: ReadingType[] = [
  'blood_glucose',
  'blood_pressure',
  'body_weight',
  'spo2',
  'heart_rate',
];

/** The part of the telemetry reader a report needs (dashboard-api's InfluxTelemetryReader has it). */
export interface MinuteStatsSource {
  readMinuteStats?(query: {
    patientId: string;
    from: number;
    to: number;
    types?: ReadingType[];
  }): Promise<Map<ReadingType, Map<number, ReadingStats>>>;
  rollupsSince?(): number | undefined;
}

export class ReportService {
  constructor(
    private readonly deps: {
      telemetry: MinuteStatsSource;
      db: Db;
      calendar: SiteCalendar;
      now: () => number;
    },
  ) {}

  async report(patientId: string, days: ReportPeriod): Promise<ClinicalReport> {
    const { telemetry, calendar } = this.deps;
    if (!telemetry.readMinuteStats)
      throw new VitalGateError('RPM_UNAVAILABLE', 'minute statistics cannot be read here');
    const now = this.deps.now();
    const start = calendar.startOf(addDays(calendar.dateOf(now), -(days - 1)));
    const since = telemetry.rollupsSince?.();
    const from = Math.ceil(Math.max(start, since ?? start) / MINUTE) * MINUTE;
    const to = Math.floor(now / MINUTE) * MINUTE + MINUTE - 1;
    const stats = new Map<ReadingType, Map<number, ReadingStats>>();
    // Slices read a few at a time: InfluxDB answers some while this process opens the others.
    const slices: [number, number][] = [];
    for (let a = from; a <= to; a += SLICE_MS) slices.push([a, Math.min(to, a + SLICE_MS - 1)]);
    let next = 0;
    const read = telemetry.readMinuteStats.bind(telemetry);
    const worker = async () => {
      while (next < slices.length) {
        const [a, b] = slices[next++]!;
        for (const [type, byMinute] of await read({ patientId, from: a, to: b, types: REPORT_TYPES })) {
          const into = stats.get(type);
          if (!into) stats.set(type, byMinute);
          else for (const [minute, one] of byMinute) into.set(minute, one);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return clinicalReport({
      patientId,
      days,
      from: start,
      to: now,
      stats,
      alerts: alertsRaisedBetween(this.deps.db, patientId, start, now + 1),
      calendar,
    });
  }
}
