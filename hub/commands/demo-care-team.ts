// What `vitalgate demo` sets up so that its unanswered desaturation drives the whole escalation
// ladder within the first minutes: a care team (`demo-ward`) holding every demo patient, with the
// demo clinician as its member and lead and on call for the next 24 h, and, unless an operator
// stored one, a short ladder for critical alerts (the on-call clinician after 1 min, the team
// lead after 3 min, where the built-in one waits 5 and 15). The fleet's desaturation patient is
// one of the demo clinician's, so the alert queue shows it escalated a minute after it is raised.
import { CareTeamRepository } from '../../core/store/care-teams.js';
import { EscalationRepository, type LadderStep } from '../../core/store/escalations.js';
import type { HubConfig } from '../../core/config.js';
import { cliActor, type CliIo } from '../cli-kit.js';
import { openContext } from '../context.js';
import { DEMO_CLINICIAN } from './demo-clinician.js';

export const DEMO_TEAM = 'demo-ward';
export const DEMO_LADDER: readonly LadderStep[] = [
  { step: 0, afterS: 0, target: 'assigned' },
  { step: 1, afterS: 60, target: 'role:on_call' },
  { step: 2, afterS: 180, target: 'role:team_lead' },
];
const DAY = 86_400_000;

export function setUpDemoCareTeam(config: HubConfig, io: CliIo, json = false, now = Date.now()): void {
  const ctx = openContext(config);
  try {
    const { store } = ctx;
    if (!store.users.get(DEMO_CLINICIAN)) return;
    const teams = new CareTeamRepository(store.db);
    const ladders = new EscalationRepository(store.db);
    const actor = cliActor();
    store.transaction(() => {
      if (!teams.get(DEMO_TEAM)) {
        const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
        teams.add({ id: DEMO_TEAM, name: 'Demo ward', timeZone });
        teams.setMember(DEMO_TEAM, DEMO_CLINICIAN, 'lead');
        store.audit.append({
          actor,
          action: 'care_team.create',
          target: `team:${DEMO_TEAM}`,
          outcome: 'success',
          details: { timeZone },
        });
      }
      for (const p of store.patients.list())
        if (p.erasedAt === null && teams.teamOf(p.id) === undefined) teams.assignPatient(p.id, DEMO_TEAM);
      const covered = teams
        .shifts(DEMO_TEAM, now, now + DAY)
        .some((s) => s.startsAt <= now && s.endsAt >= now + DAY);
      if (!covered) {
        teams.addShift({
          teamId: DEMO_TEAM,
          username: DEMO_CLINICIAN,
          startsAt: now,
          endsAt: now + DAY,
          createdBy: actor,
        });
        store.audit.append({
          actor,
          action: 'rota.shift_add',
          target: `team:${DEMO_TEAM}`,
          outcome: 'success',
          details: {
            username: DEMO_CLINICIAN,
            startsAt: new Date(now).toISOString(),
            endsAt: new Date(now + DAY).toISOString(),
          },
        });
      }
      if (!ladders.ladder('critical')) ladders.setLadder('critical', DEMO_LADDER);
    });
    if (json) return;
    const ladder = ladders.ladder('critical') ?? [];
    io.out(
      `demo care team: ${DEMO_TEAM}, ${DEMO_CLINICIAN} on call for 24 h; critical alerts escalate: ${ladder
        .map((s) => `${s.target} after ${s.afterS}s`)
        .join(', ')}`,
    );
  } finally {
    ctx.close();
  }
}
