// RPM programme enrolments and the billing practitioner of each patient per month. Dates are
// the site's calendar dates (YYYY-MM-DD); the rules that use them are in rpm/.
import type { Db } from './database.js';

export interface RpmEnrolment {
  patientId: string;
  monitoringStart: string;
  endedOn: string | null;
  consentAt: number | null;
  consentBy: string | null;
  /** How consent was given: `verbal`, `written` or `electronic`. */
  consentMethod: string | null;
  setupDate: string | null;
  enrolledBy: string;
  enrolledAt: number;
}

export interface BillingPractitioner {
  fromMonth: string;
  practitioner: string;
  setBy: string;
  setAt: number;
}

interface EnrolmentRow {
  patient_id: string;
  monitoring_start: string;
  ended_on: string | null;
  consent_at: number | null;
  consent_by: string | null;
  consent_method: string | null;
  setup_date: string | null;
  enrolled_by: string;
  enrolled_at: number;
}

const fromRow = (r: EnrolmentRow): RpmEnrolment => ({
  patientId: r.patient_id,
  monitoringStart: r.monitoring_start,
  endedOn: r.ended_on,
  consentAt: r.consent_at,
  consentBy: r.consent_by,
  consentMethod: r.consent_method,
  setupDate: r.setup_date,
  enrolledBy: r.enrolled_by,
  enrolledAt: r.enrolled_at,
});

export class RpmEnrolmentRepository {
  constructor(private readonly db: Db) {}

  /** Inserts or replaces the patient's enrolment. */
  put(e: RpmEnrolment): void {
    this.db
      .prepare(
        `INSERT INTO rpm_enrolments (patient_id, monitoring_start, ended_on, consent_at, consent_by, consent_method, setup_date, enrolled_by, enrolled_at)
         VALUES (@patientId, @monitoringStart, @endedOn, @consentAt, @consentBy, @consentMethod, @setupDate, @enrolledBy, @enrolledAt)
         ON CONFLICT (patient_id) DO UPDATE SET monitoring_start = excluded.monitoring_start, ended_on = excluded.ended_on,
           consent_at = excluded.consent_at, consent_by = excluded.consent_by, consent_method = excluded.consent_method,
           setup_date = excluded.setup_date`,
      )
      .run(e);
  }

  get(patientId: string): RpmEnrolment | undefined {
    const row = this.db.prepare('SELECT * FROM rpm_enrolments WHERE patient_id = ?').get(patientId) as
      EnrolmentRow | undefined;
    return row && fromRow(row);
  }

  list(): RpmEnrolment[] {
    return (this.db.prepare('SELECT * FROM rpm_enrolments ORDER BY patient_id').all() as EnrolmentRow[]).map(
      fromRow,
    );
  }

  setPractitioner(patientId: string, p: BillingPractitioner): void {
    this.db
      .prepare(
        `INSERT INTO rpm_billing_practitioners (patient_id, from_month, practitioner, set_by, set_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (patient_id, from_month) DO UPDATE SET practitioner = excluded.practitioner, set_by = excluded.set_by, set_at = excluded.set_at`,
      )
      .run(patientId, p.fromMonth, p.practitioner, p.setBy, p.setAt);
  }

  /** The practitioner in force in `month`: the latest row from that month or before. */
  practitionerFor(patientId: string, month: string): string | null {
    const row = this.db
      .prepare(
        'SELECT practitioner FROM rpm_billing_practitioners WHERE patient_id = ? AND from_month <= ? ORDER BY from_month DESC LIMIT 1',
      )
      .get(patientId, month) as { practitioner: string } | undefined;
    return row?.practitioner ?? null;
  }

  practitioners(patientId: string): BillingPractitioner[] {
    return (
      this.db
        .prepare(
          'SELECT from_month, practitioner, set_by, set_at FROM rpm_billing_practitioners WHERE patient_id = ? ORDER BY from_month',
        )
        .all(patientId) as { from_month: string; practitioner: string; set_by: string; set_at: number }[]
    ).map((r) => ({
      fromMonth: r.from_month,
      practitioner: r.practitioner,
      setBy: r.set_by,
      setAt: r.set_at,
    }));
  }
}
