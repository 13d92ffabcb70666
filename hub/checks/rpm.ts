// The RPM programme's readiness to bill (docs/RPM.md): every patient monitored today has consent
// on record, a billing practitioner for this month (an active clinician) and the set-up and
// education date, and no past month is left unclosed (its statements unsealed) beyond a week.
import type { RpmEnrolment } from '../../core/store/rpm-enrolments.js';
import { firstOfMonth, lastOfMonth, monthOf, nextMonth, SiteCalendar } from '../../rpm/site-calendar.js';
import {
  fail,
  listIds,
  notApplicable,
  pass,
  warn,
  type CheckContext,
  type DeploymentCheck,
} from './check.js';

/** Days after a month ends before an unclosed month fails VG-RPM-003. */
export const CLOSE_GRACE_DAYS = 7;

const references = {
  owasp: 'Device security controls',
  hipaa: '164.312(b) Audit controls',
};

/** Enrolments monitored today in the site's calendar. */
function monitoredToday({ store, config, now }: CheckContext): { today: string; enrolments: RpmEnrolment[] } {
  const today = new SiteCalendar(config.rpmTimeZone).dateOf(now);
  return {
    today,
    enrolments: store.rpmEnrolments
      .list()
      .filter((e) => e.monitoringStart <= today && (e.endedOn === null || e.endedOn >= today))
      .filter((e) => store.patients.get(e.patientId)?.erasedAt === null),
  };
}

export const rpmConsentRecorded: DeploymentCheck = {
  id: 'VG-RPM-001',
  title: 'Every patient monitored in the RPM programme has consent on record',
  severity: 'medium',
  verifies: 'Each enrolment running today records who took the patient’s consent, when and how.',
  how: 'Reads the RPM enrolments running today in the site’s time zone and lists those without a consent record.',
  references,
  run(ctx) {
    const { enrolments } = monitoredToday(ctx);
    if (enrolments.length === 0) return notApplicable('no patient is monitored in the RPM programme today');
    const missing = enrolments.filter((e) => e.consentAt === null).map((e) => e.patientId);
    return missing.length
      ? fail(
          `${missing.length} of ${enrolments.length} monitored patient(s) without consent: ${listIds(missing)}`,
          'Record consent (PUT /api/v1/patients/{id}/rpm/enrolment {"consent":"verbal|written|electronic"}); a month without it is not billable.',
        )
      : pass(`${enrolments.length} monitored patient(s), each with consent on record`);
  },
};

export const rpmBillingPractitioner: DeploymentCheck = {
  id: 'VG-RPM-002',
  title: 'Every monitored patient has an active billing practitioner this month',
  severity: 'medium',
  verifies:
    'Each enrolment running today names one billing practitioner for the current month, and that practitioner is an active clinician.',
  how: 'Reads each running enrolment’s billing practitioner in force this month (site calendar) and the user it names.',
  references,
  run(ctx) {
    const { today, enrolments } = monitoredToday(ctx);
    if (enrolments.length === 0) return notApplicable('no patient is monitored in the RPM programme today');
    const month = monthOf(today);
    const none: string[] = [];
    const inactive: string[] = [];
    for (const e of enrolments) {
      const p = ctx.store.rpmEnrolments.practitionerFor(e.patientId, month);
      if (p === null) none.push(e.patientId);
      else {
        const user = ctx.store.users.get(p);
        if (!user || user.role !== 'clinician' || user.disabledAt !== null)
          inactive.push(`${e.patientId} (${p})`);
      }
    }
    const problems = [
      ...(none.length ? [`no billing practitioner for ${month}: ${listIds(none)}`] : []),
      ...(inactive.length ? [`practitioner no longer an active clinician: ${listIds(inactive)}`] : []),
    ];
    return problems.length
      ? fail(
          problems.join('; '),
          'Set the billing practitioner (PUT /api/v1/patients/{id}/rpm/billing-practitioner {"practitioner","fromMonth"}); a month without one is not billable.',
        )
      : pass(
          `${enrolments.length} monitored patient(s), each with an active billing practitioner for ${month}`,
        );
  },
};

export const rpmMonthsClosed: DeploymentCheck = {
  id: 'VG-RPM-003',
  title: 'Past RPM months are closed and sealed',
  severity: 'medium',
  verifies: `Every month with an enrolment that ended more than ${CLOSE_GRACE_DAYS} days ago (site time zone) is closed, so its statements are sealed in the audit chain.`,
  how: 'Walks the months from the first enrolment’s start to the last month over and compares them with the closed months.',
  references,
  run({ store, config, now }) {
    const enrolments = store.rpmEnrolments.list();
    if (enrolments.length === 0) return notApplicable('no RPM enrolments');
    const calendar = new SiteCalendar(config.rpmTimeZone);
    const closed = new Set(store.rpmStatements.closedMonths());
    const open: string[] = [];
    let month = monthOf(
      enrolments.reduce((min, e) => (e.monitoringStart < min ? e.monitoringStart : min), '9999-12-31'),
    );
    for (
      ;
      now >= calendar.startOf(firstOfMonth(nextMonth(month))) + CLOSE_GRACE_DAYS * 86_400_000;
      month = nextMonth(month)
    ) {
      const first = firstOfMonth(month);
      const last = lastOfMonth(month);
      const enrolled = enrolments.some(
        (e) => e.monitoringStart <= last && (e.endedOn === null || e.endedOn >= first),
      );
      if (enrolled && !closed.has(month)) open.push(month);
    }
    return open.length
      ? fail(
          `month(s) over and not closed: ${listIds(open)}`,
          'Close each month (POST /api/v1/rpm/months/{YYYY-MM}/close, as an admin): its statements are then sealed and time can no longer be added to it.',
        )
      : pass(`${closed.size} month(s) closed; none past its close`);
  },
};

export const rpmSetupRecorded: DeploymentCheck = {
  id: 'VG-RPM-004',
  title: 'Every monitored patient has the set-up and education date on record',
  severity: 'low',
  verifies:
    'Each enrolment running today records the date of the device set-up and patient education (99453).',
  how: 'Reads the RPM enrolments running today and lists those without a set-up date.',
  references,
  run(ctx) {
    const { enrolments } = monitoredToday(ctx);
    if (enrolments.length === 0) return notApplicable('no patient is monitored in the RPM programme today');
    const missing = enrolments.filter((e) => e.setupDate === null).map((e) => e.patientId);
    return missing.length
      ? warn(
          `${missing.length} of ${enrolments.length} monitored patient(s) without a set-up and education date: ${listIds(missing)}`,
          'Record the set-up date (PUT /api/v1/patients/{id}/rpm/enrolment {"setupDate":"YYYY-MM-DD"}); without it 99453 is never billed.',
        )
      : pass(`${enrolments.length} monitored patient(s), each with a set-up date`);
  },
};

export const RPM_CHECKS: readonly DeploymentCheck[] = [
  rpmConsentRecorded,
  rpmBillingPractitioner,
  rpmMonthsClosed,
  rpmSetupRecorded,
];
