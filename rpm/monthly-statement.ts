// One patient's RPM statement for one calendar month (site time zone), from facts only: the
// enrolment, the sensed dates around the month, and the month's confirmed time entries. Pure:
// the same facts always give the same statement, so the integration test can compute the ledger
// on its own and compare, and a sealed statement can be recomputed by an auditor.
//
// What the month carries (cms-rules.ts for the codes):
// - device supply: each 30-day period that ENDS in the month is billed in it, once, with 99454
//   (16-30 days) or 99445 (2-15 days), never both;
// - 99453: once per enrolment, with the first period that met a device-supply code, when consent
//   and the set-up and education date are recorded;
// - treatment management: the month's confirmed minutes (99457/99458 or 99470).
// A month without a billing practitioner or consent still gets its statement, with the codes
// met and `billable: false` and the reason: the evidence is kept either way.
import { RPM_RULE_SOURCE, treatmentManagement, type RpmCode, type TreatmentManagement } from './cms-rules.js';
import { evaluateSupplyPeriod, supplyPeriodsEnding, type SupplyPeriodResult } from './reading-days.js';
import { firstOfMonth, lastOfMonth } from './site-calendar.js';

export const TIME_ACTIVITIES = [
  'data_review',
  'patient_call',
  'caregiver_call',
  'video_visit',
  'care_plan_update',
  'care_coordination',
  'medication_adjustment',
  'other',
] as const;
export type TimeActivity = (typeof TIME_ACTIVITIES)[number];

export interface EnrolmentFacts {
  patientId: string;
  /** Local date monitoring started: the first device-supply period starts here. */
  monitoringStart: string;
  /** Local date the enrolment ended, or null. */
  endedOn: string | null;
  consentRecorded: boolean;
  /** Local date of the set-up and patient education (99453), or null. */
  setupDate: string | null;
  /** Whether an earlier closed month already billed 99453 for this enrolment. */
  setupBilledBefore: boolean;
}

export interface StatementTimeEntry {
  id: number;
  /** Start, ISO 8601. */
  startedAt: string;
  minutes: number;
  activity: TimeActivity;
  interactive: boolean;
  /** Who did the work and confirmed the entry. */
  clinician: string;
}

export interface StatementCode {
  code: RpmCode;
  units: number;
  /** What the code is billed for: a device-supply period, or the month. */
  basis: string;
}

export interface MonthlyStatement {
  version: 1;
  rule: string;
  patientId: string;
  month: string;
  timeZone: string;
  billingPractitioner: string | null;
  billable: boolean;
  problems: string[];
  codes: StatementCode[];
  supplyPeriods: SupplyPeriodResult[];
  treatment: TreatmentManagement;
  timeEntries: StatementTimeEntry[];
}

export interface StatementInput {
  month: string;
  timeZone: string;
  enrolment: EnrolmentFacts;
  billingPractitioner: string | null;
  /** Sorted distinct sensed dates covering at least the periods ending in the month. */
  sensedDates: readonly string[];
  /** The month's confirmed time entries. */
  timeEntries: readonly StatementTimeEntry[];
}

export function buildMonthlyStatement(input: StatementInput): MonthlyStatement {
  const { month, enrolment } = input;
  const periods = supplyPeriodsEnding(
    enrolment.monitoringStart,
    enrolment.endedOn,
    firstOfMonth(month),
    lastOfMonth(month),
  ).map((p) => evaluateSupplyPeriod(p, input.sensedDates));
  const codes: StatementCode[] = [];
  let setupBilled = enrolment.setupBilledBefore;
  for (const p of periods) {
    if (p.code === null) continue;
    const basis = `supply period ${p.index} (${p.first}..${p.last}, ${p.days} days)`;
    if (!setupBilled && enrolment.setupDate !== null) {
      codes.push({
        code: '99453',
        units: 1,
        basis: `set-up and education on ${enrolment.setupDate}; ${basis}`,
      });
      setupBilled = true;
    }
    codes.push({ code: p.code, units: 1, basis });
  }
  const entries = [...input.timeEntries].sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.id - b.id));
  const treatment = treatmentManagement(entries);
  for (const c of treatment.codes) codes.push({ ...c, basis: `${month}: ${treatment.minutes} minutes` });
  const problems: string[] = [];
  if (!enrolment.consentRecorded) problems.push('no consent recorded');
  if (input.billingPractitioner === null) problems.push('no billing practitioner for the month');
  return {
    version: 1,
    rule: RPM_RULE_SOURCE,
    patientId: enrolment.patientId,
    month,
    timeZone: input.timeZone,
    billingPractitioner: input.billingPractitioner,
    billable: problems.length === 0 && codes.length > 0,
    problems,
    codes,
    supplyPeriods: periods,
    treatment,
    timeEntries: entries,
  };
}
