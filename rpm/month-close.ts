// The monthly close: once a calendar month (site time zone) is over, every patient enrolled in
// it gets a statement (monthly-statement.ts) from the days of sensed data in InfluxDB's minute
// rollups and the month's confirmed time entries, and the statements are stored and sealed into
// the audit chain in one transaction (core/store/rpm-statements.ts). A closed month cannot be
// closed again, and time in it can no longer be entered or confirmed.
import { VitalGateError } from '../core/errors.js';
import type { RpmEnrolment, RpmEnrolmentRepository } from '../core/store/rpm-enrolments.js';
import type { MonthClose, RpmStatementRepository } from '../core/store/rpm-statements.js';
import type { RpmTimeEntry, RpmTimeEntryRepository } from '../core/store/rpm-time-entries.js';
import { sensedDates, supplyPeriodsEnding } from './reading-days.js';
import {
  buildMonthlyStatement,
  type MonthlyStatement,
  type StatementTimeEntry,
  type TimeActivity,
} from './monthly-statement.js';
import type { SensedDaySource } from './sensed-days-source.js';
import { firstOfMonth, isMonth, lastOfMonth, nextMonth, type SiteCalendar } from './site-calendar.js';

/** Patients whose days are read from InfluxDB at once. */
const CONCURRENCY = 8;

export interface MonthCloseDeps {
  enrolments: RpmEnrolmentRepository;
  timeEntries: RpmTimeEntryRepository;
  statements: RpmStatementRepository;
  days: SensedDaySource;
  calendar: SiteCalendar;
  now: () => number;
}

export class RpmLedger {
  constructor(private readonly deps: MonthCloseDeps) {}

  /** Enrolments that overlap the month. */
  enrolledIn(month: string): RpmEnrolment[] {
    const first = firstOfMonth(month);
    const last = lastOfMonth(month);
    return this.deps.enrolments
      .list()
      .filter((e) => e.monitoringStart <= last && (e.endedOn === null || e.endedOn >= first));
  }

  /** Whether the month is over in the site's time zone. */
  isOver(month: string): boolean {
    return this.deps.now() >= this.deps.calendar.startOf(firstOfMonth(nextMonth(month)));
  }

  /**
   * A patient's statement for a month as it stands: the sealed one once the month is closed,
   * else a draft computed now (an open month's draft changes as data and time come in).
   */
  async statement(
    patientId: string,
    month: string,
  ): Promise<{ sealed: boolean; statement: MonthlyStatement }> {
    checkMonth(month);
    const stored = this.deps.statements.get(patientId, month);
    if (stored) return { sealed: true, statement: JSON.parse(stored.content) as MonthlyStatement };
    if (this.deps.statements.monthClose(month))
      throw new VitalGateError('RPM_STATEMENT_NOT_FOUND', `the patient was not enrolled in ${month}`);
    const enrolment = this.deps.enrolments.get(patientId);
    if (!enrolment)
      throw new VitalGateError('RPM_NOT_ENROLLED', 'this patient is not enrolled in the RPM programme');
    const { from, to } = this.deps.calendar.span(firstOfMonth(month), lastOfMonth(month));
    const entries = this.deps.timeEntries.forPatient(patientId, from, to, 'confirmed');
    return { sealed: false, statement: await this.compute(enrolment, month, entries) };
  }

  /** Closes a month that is over: every enrolled patient's statement, sealed. */
  async close(month: string, actor: string): Promise<MonthClose> {
    checkMonth(month);
    if (!this.isOver(month))
      throw new VitalGateError('RPM_MONTH_NOT_OVER', `${month} is not over yet in the site's time zone`);
    if (this.deps.statements.monthClose(month))
      throw new VitalGateError('RPM_MONTH_CLOSED', `${month} is closed already`);
    const enrolled = this.enrolledIn(month);
    const { from, to } = this.deps.calendar.span(firstOfMonth(month), lastOfMonth(month));
    const time = this.deps.timeEntries.confirmedBetween(from, to);
    const statements: { patientId: string; statement: MonthlyStatement }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < enrolled.length) {
        const e = enrolled[next++]!;
        statements.push({
          patientId: e.patientId,
          statement: await this.compute(e, month, time.get(e.patientId) ?? []),
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, enrolled.length) }, worker));
    statements.sort((a, b) => (a.patientId < b.patientId ? -1 : 1));
    try {
      return this.deps.statements.closeMonth(month, statements, actor, this.deps.now());
    } catch (err) {
      // Another close won the race (the month's row is unique).
      if (this.deps.statements.monthClose(month))
        throw new VitalGateError('RPM_MONTH_CLOSED', `${month} is closed already`);
      throw err;
    }
  }

  private async compute(
    e: RpmEnrolment,
    month: string,
    entries: readonly RpmTimeEntry[],
  ): Promise<MonthlyStatement> {
    const periods = supplyPeriodsEnding(
      e.monitoringStart,
      e.endedOn,
      firstOfMonth(month),
      lastOfMonth(month),
    );
    const first = periods.reduce((min, p) => (p.first < min ? p.first : min), firstOfMonth(month));
    const { from, to } = this.deps.calendar.span(first, lastOfMonth(month));
    const dates = sensedDates(await this.deps.days.presences(e.patientId, from, to), this.deps.calendar);
    return buildMonthlyStatement({
      month,
      timeZone: this.deps.calendar.timeZone,
      enrolment: {
        patientId: e.patientId,
        monitoringStart: e.monitoringStart,
        endedOn: e.endedOn,
        consentRecorded: e.consentAt !== null,
        setupDate: e.setupDate,
        setupBilledBefore: this.setupBilledBefore(e.patientId, month),
      },
      billingPractitioner: this.deps.enrolments.practitionerFor(e.patientId, month),
      sensedDates: dates,
      timeEntries: entries.map(statementEntry),
    });
  }

  private setupBilledBefore(patientId: string, month: string): boolean {
    return this.deps.statements
      .forPatient(patientId)
      .some(
        (s) =>
          s.month < month &&
          (JSON.parse(s.content) as MonthlyStatement).codes.some((c) => c.code === '99453'),
      );
  }
}

function checkMonth(month: string): void {
  if (!isMonth(month)) throw new VitalGateError('RPM_INVALID', 'month: expected YYYY-MM', { field: 'month' });
}

function statementEntry(e: RpmTimeEntry): StatementTimeEntry {
  return {
    id: e.id,
    startedAt: new Date(e.startedAt).toISOString(),
    minutes: e.minutes,
    activity: e.activity as TimeActivity,
    interactive: e.interactive,
    clinician: e.clinician,
  };
}
