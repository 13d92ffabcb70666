// Care-team readiness for alerts (docs/ALERTS.md): someone is on call for every team with
// patients over the next 24 h, the critical ladder reaches beyond the assigned clinicians, and
// no clinical alert stays open unacknowledged past policy.
import { BUILT_IN_LADDERS } from '../../care/escalation.js';
import { CareTeamRepository } from '../../core/store/care-teams.js';
import { EscalationRepository } from '../../core/store/escalations.js';
import { silenceRaisesAlarm, vapidKeyFresh } from './care-alarms.js';
import { fail, listIds, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

const HOUR = 3_600_000;
/** An open (unacknowledged) clinical alert older than this breaks policy. */
export const OPEN_ALERT_POLICY_MS = HOUR;

const references = {
  owasp: 'Device security controls',
  hipaa: '164.312(b) Audit controls',
};

export const onCallCovered: DeploymentCheck = {
  id: 'VG-CARE-001',
  title: 'Someone is on call for every care team over the next 24 h',
  severity: 'medium',
  verifies:
    'Each care team with patients has a clinician on call at every moment of the next 24 hours (fail), and every patient is in a care team (warn).',
  how: 'Reads the care teams, the patients in their care and the rota shifts of the next 24 h, and looks for the first gap.',
  references,
  run({ store, now }) {
    const teams = new CareTeamRepository(store.db);
    const patients = store.patients.list().filter((p) => p.erasedAt === null);
    if (patients.length === 0) return notApplicable('no patients');
    const outside = patients.filter((p) => teams.teamOf(p.id) === undefined).length;
    const gaps: string[] = [];
    for (const team of teams.list()) {
      if (!patients.some((p) => teams.teamOf(p.id) === team.id)) continue;
      let covered = now;
      for (const s of teams.shifts(team.id, now, now + 24 * HOUR)) {
        if (s.startsAt > covered) break;
        covered = Math.max(covered, s.endsAt);
      }
      if (covered < now + 24 * HOUR) gaps.push(`${team.id} (from ${new Date(covered).toISOString()})`);
    }
    const remediation =
      'Place every patient in a care team (PUT /api/v1/care-teams/{team}/patients/{id}) and fill the rota (POST /api/v1/care-teams/{team}/shifts), or escalations reach nobody.';
    if (gaps.length > 0)
      return fail(
        `no one on call: ${listIds(gaps)}${outside ? `; ${outside} patient(s) in no care team` : ''}`,
        remediation,
      );
    // No rota at all (a hub not yet set up for escalation) is a warning, not a failure.
    if (outside > 0)
      return warn(
        `${outside} patient(s) in no care team: their alerts reach only the assigned clinicians`,
        remediation,
      );
    return pass(`${teams.list().length} care team(s), each with someone on call for the next 24 h`);
  },
};

export const criticalLadderEscalates: DeploymentCheck = {
  id: 'VG-CARE-002',
  title: 'The critical escalation ladder goes beyond the assigned clinicians',
  severity: 'high',
  verifies:
    'The ladder for critical alerts has at least one step addressed to a rota role, not only to the assigned clinicians.',
  how: 'Reads the stored critical ladder (or the built-in one) and looks for a step whose target is not `assigned`.',
  references,
  run({ store }) {
    const stored = new EscalationRepository(store.db).ladder('critical');
    const ladder = stored ?? BUILT_IN_LADDERS.critical!;
    const beyond = ladder.filter((s) => s.target !== 'assigned');
    return beyond.length
      ? pass(
          `${stored ? 'stored' : 'built-in'} critical ladder: ${ladder.map((s) => `${s.target}@${s.afterS}s`).join(' → ')}`,
        )
      : fail(
          'the critical ladder only notifies the assigned clinicians: an unanswered critical alert reaches no one else',
          'Add an on-call or team-lead step to the critical ladder (escalation_ladders), as in the built-in one.',
        );
  },
};

export const alertsAnswered: DeploymentCheck = {
  id: 'VG-CARE-003',
  title: 'No clinical alert is left open past policy',
  severity: 'high',
  verifies: `No alert stays open (unacknowledged and not resolved) longer than ${OPEN_ALERT_POLICY_MS / HOUR} h.`,
  how: 'Lists open alerts and compares their raise time with the policy; counts only, by rule.',
  references,
  run({ store, now }) {
    const late = store.alerts
      .list({ status: 'open', limit: 10_000 })
      .filter((a) => now - a.raisedAt > OPEN_ALERT_POLICY_MS);
    if (late.length === 0) return pass(`no alert open longer than ${OPEN_ALERT_POLICY_MS / HOUR} h`);
    const byRule = new Map<string, number>();
    for (const a of late) byRule.set(a.rule, (byRule.get(a.rule) ?? 0) + 1);
    const evidence = `${late.length} alert(s) open longer than ${OPEN_ALERT_POLICY_MS / HOUR} h: ${[...byRule]
      .map(([rule, n]) => `${rule} ×${n}`)
      .join(', ')}`;
    const remediation =
      'Acknowledge, snooze or resolve them in the console; check that the escalation reaches people.';
    return late.some((a) => a.severity === 'critical')
      ? fail(evidence, remediation)
      : warn(evidence, remediation);
  },
};

export const CARE_CHECKS: readonly DeploymentCheck[] = [
  onCallCovered,
  criticalLadderEscalates,
  alertsAnswered,
  silenceRaisesAlarm,
  vapidKeyFresh,
];
