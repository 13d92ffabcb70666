// Builds a patient's clinical report (clinical-report.ts) for the last 7/14/30/90 days of the
// site's calendar: the sums per minute come from the telemetry reader (the hourly rollups' sealed
// minute sums, and the minute rollups of hours not compacted yet), the alerts from the control
// plane.
import type { ReadingType } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import type { Db } from '../core/store/database.js';
import { alertsRaisedBetween } from '../core/store/patient-alerts.js';
import type { ReadingSums } from '../ingest/reading-stats.js';
import { clinicalReport, type ClinicalReport, type ReportPeriod } from './clinical-report.js';
import { addDays, type SiteCalendar } from './site-calendar.js';

const MINUTE = 60_000;
export const REPORT_TYPES: ReadingType[] = [
  'blood_glucose',
  'blood_pressure',
  'body_weight',
  'spo2',
  'heart_rate',
];

/** The part of the telemetry reader a report needs (dashboard-api's InfluxTelemetryReader has it). */
export interface MinuteSumsSource {
  readMinuteSums?(query: {
    patientId: string;
    from: number;
    to: number;
    types?: ReadingType[];
  }): Promise<Map<ReadingType, Map<number, ReadingSums>>>;
  rollupsSince?(): number | undefined;
}

export class ReportService {
  constructor(
    private readonly deps: {
      telemetry: MinuteSumsSource;
      db: Db;
      calendar: SiteCalendar;
      now: () => number;
    },
  ) {}

  async report(patientId: string, days: ReportPeriod): Promise<ClinicalReport> {
    const { telemetry, calendar } = this.deps;
    if (!telemetry.readMinuteSums)
      throw new VitalGateError('RPM_UNAVAILABLE', 'minute statistics cannot be read here');
    const now = this.deps.now();
    const start = calendar.startOf(addDays(calendar.dateOf(now), -(days - 1)));
    const since = telemetry.rollupsSince?.();
    const from = Math.ceil(Math.max(start, since ?? start) / MINUTE) * MINUTE;
    const to = Math.floor(now / MINUTE) * MINUTE + MINUTE - 1;
    const sums = await telemetry.readMinuteSums({ patientId, from, to, types: REPORT_TYPES });
    return clinicalReport({
      patientId,
      days,
      from: start,
      to: now,
      sums,
      alerts: alertsRaisedBetween(this.deps.db, patientId, start, now + 1),
      calendar,
    });
  }
}
