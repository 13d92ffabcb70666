// Enrolment into the RPM programme: consent (who recorded it, when, how), the set-up and patient
// education date (99453), the monitoring start (the first device-supply period starts there), the
// end, and the one billing practitioner per patient and month. Every change is audited; a change
// that would alter a closed month is refused.
import type { AuditLog } from '../core/audit.js';
import { VitalGateError } from '../core/errors.js';
import type { PatientRepository } from '../core/store/patients.js';
import type { RpmEnrolment, RpmEnrolmentRepository } from '../core/store/rpm-enrolments.js';
import type { RpmStatementRepository } from '../core/store/rpm-statements.js';
import type { UserRepository } from '../core/store/users.js';
import { isDate, isMonth, monthOf, type SiteCalendar } from './site-calendar.js';

export const CONSENT_METHODS = ['verbal', 'written', 'electronic'] as const;
export type ConsentMethod = (typeof CONSENT_METHODS)[number];

export interface EnrolmentChange {
  monitoringStart?: string;
  endedOn?: string | null;
  /** Records consent as given now, by the acting user, this way. */
  consent?: ConsentMethod;
  setupDate?: string | null;
}

export interface ProgrammeDeps {
  enrolments: RpmEnrolmentRepository;
  statements: RpmStatementRepository;
  patients: PatientRepository;
  users: UserRepository;
  audit: AuditLog;
  calendar: SiteCalendar;
  now: () => number;
}

const invalid = (field: string, message: string) =>
  new VitalGateError('RPM_INVALID', `${field}: ${message}`, { field });

export class RpmEnrolments {
  constructor(private readonly deps: ProgrammeDeps) {}

  get(patientId: string): RpmEnrolment | undefined {
    return this.deps.enrolments.get(patientId);
  }

  require(patientId: string): RpmEnrolment {
    const e = this.deps.enrolments.get(patientId);
    if (!e) throw new VitalGateError('RPM_NOT_ENROLLED', 'this patient is not enrolled in the RPM programme');
    return e;
  }

  /** Enrols the patient, or changes their enrolment. */
  enrol(patientId: string, change: EnrolmentChange, actor: string, source?: string): RpmEnrolment {
    const record = this.deps.patients.get(patientId);
    if (!record) throw new VitalGateError('PATIENT_NOT_FOUND', 'no such patient');
    if (record.erasedAt !== null) throw new VitalGateError('PATIENT_ERASED', 'this patient was erased');
    for (const field of ['monitoringStart', 'endedOn', 'setupDate'] as const) {
      const v = change[field];
      if (typeof v === 'string' && !isDate(v)) throw invalid(field, 'expected a date as YYYY-MM-DD');
    }
    const before = this.deps.enrolments.get(patientId);
    const now = this.deps.now();
    const monitoringStart =
      change.monitoringStart ?? before?.monitoringStart ?? this.deps.calendar.dateOf(now);
    const endedOn = change.endedOn !== undefined ? change.endedOn : (before?.endedOn ?? null);
    if (endedOn !== null && endedOn < monitoringStart)
      throw invalid('endedOn', 'the enrolment cannot end before monitoring starts');
    // Dates in a closed month are evidence already sealed.
    const touched = [
      change.monitoringStart !== undefined && change.monitoringStart !== before?.monitoringStart
        ? [before?.monitoringStart, change.monitoringStart]
        : [],
      change.endedOn !== undefined && change.endedOn !== before?.endedOn
        ? [before?.endedOn, change.endedOn]
        : [],
      change.setupDate !== undefined && change.setupDate !== before?.setupDate
        ? [before?.setupDate, change.setupDate]
        : [],
    ].flat();
    for (const d of touched) if (typeof d === 'string') this.refuseClosed(monthOf(d));
    const next: RpmEnrolment = {
      patientId,
      monitoringStart,
      endedOn,
      consentAt: change.consent ? now : (before?.consentAt ?? null),
      consentBy: change.consent ? actor : (before?.consentBy ?? null),
      consentMethod: change.consent ?? before?.consentMethod ?? null,
      setupDate: change.setupDate !== undefined ? change.setupDate : (before?.setupDate ?? null),
      enrolledBy: before?.enrolledBy ?? actor,
      enrolledAt: before?.enrolledAt ?? now,
    };
    this.deps.enrolments.put(next);
    this.deps.audit.append({
      actor,
      action: before ? 'rpm.enrolment.change' : 'rpm.enrolment.create',
      target: `patient:${patientId}`,
      outcome: 'success',
      source,
      details: {
        monitoringStart: next.monitoringStart,
        endedOn: next.endedOn,
        setupDate: next.setupDate,
        ...(change.consent ? { consent: change.consent } : {}),
      },
    });
    return next;
  }

  /** Sets the billing practitioner from `fromMonth` on (a clinician); closed months are refused. */
  setPractitioner(
    patientId: string,
    practitioner: string,
    fromMonth: string,
    actor: string,
    source?: string,
  ): void {
    this.require(patientId);
    if (!isMonth(fromMonth)) throw invalid('fromMonth', 'expected a month as YYYY-MM');
    const user = this.deps.users.get(practitioner);
    if (!user || user.role !== 'clinician' || user.disabledAt !== null)
      throw invalid('practitioner', 'the billing practitioner must be an active clinician');
    this.refuseClosed(fromMonth);
    const later = this.deps.statements.closedMonths().filter((m) => m > fromMonth);
    if (later.length > 0) throw new VitalGateError('RPM_MONTH_CLOSED', `${later[0]} is closed already`);
    this.deps.enrolments.setPractitioner(patientId, {
      fromMonth,
      practitioner,
      setBy: actor,
      setAt: this.deps.now(),
    });
    this.deps.audit.append({
      actor,
      action: 'rpm.billing_practitioner.set',
      target: `patient:${patientId}`,
      outcome: 'success',
      source,
      details: { practitioner, fromMonth },
    });
  }

  refuseClosed(month: string): void {
    if (this.deps.statements.monthClose(month))
      throw new VitalGateError('RPM_MONTH_CLOSED', `${month} is closed; its statements are sealed`);
  }
}
