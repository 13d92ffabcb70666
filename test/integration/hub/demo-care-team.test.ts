// What `vitalgate demo` sets up for its desaturation nobody acknowledges, on a test hub's real
// store: a care team holding every demo patient with the demo clinician on call for 24 h
// (VG-CARE-001 passes), a short critical ladder, and the whole ladder driven by an unanswered
// critical alert with the test clock: the on-call clinician at minute 1, the team lead at
// minute 3. Set up twice, nothing is doubled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertLifecycle } from '../../../care/alert-lifecycle.js';
import { Escalation } from '../../../care/escalation.js';
import { CareTeamRepository } from '../../../core/store/care-teams.js';
import { EscalationRepository } from '../../../core/store/escalations.js';
import { onCallCovered } from '../../../hub/checks/care.js';
import { DEMO_LADDER, DEMO_TEAM, setUpDemoCareTeam } from '../../../hub/commands/demo-care-team.js';
import { DEMO_CLINICIAN } from '../../../hub/commands/demo-clinician.js';
import { createUser } from '../../../hub/commands/user.js';
import { AlertBus } from '../../../ingest/alerts.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';

let pki: TestPki;
const lines: string[] = [];
const io = { out: (l: string) => lines.push(l), err: () => {}, json: () => {}, isTTY: false, env: {} };
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

describe('the demo care team', () => {
  it('puts every patient in the team, the demo clinician on call for 24 h, a short critical ladder; twice is once', async () => {
    const t0 = Date.now();
    const patients = [addPatient(pki, 'Demo One'), addPatient(pki, 'Demo Two')];
    setUpDemoCareTeam(pki.config, io, false, t0);
    expect(new CareTeamRepository(pki.store.db).get(DEMO_TEAM)).toBeUndefined(); // no demo clinician yet
    await createUser(pki.store, DEMO_CLINICIAN, 'clinician', 'cli:test');
    setUpDemoCareTeam(pki.config, io, false, t0);
    setUpDemoCareTeam(pki.config, io, false, t0);
    const teams = new CareTeamRepository(pki.store.db);
    expect(patients.map((p) => teams.teamOf(p))).toEqual([DEMO_TEAM, DEMO_TEAM]);
    expect(teams.members(DEMO_TEAM, 'lead')).toEqual([DEMO_CLINICIAN]);
    expect(teams.shifts(DEMO_TEAM, t0, t0 + 86_400_000)).toHaveLength(1);
    expect(new EscalationRepository(pki.store.db).ladder('critical')).toEqual(DEMO_LADDER);
    expect((await onCallCovered.run(checkContext(pki, { now: t0 }))).status).toBe('pass');
    expect(lines.at(-1)).toContain('role:on_call after 60s');
  });

  it('an unacknowledged critical alert climbs the whole ladder within the first minutes', () => {
    const clock = { now: Date.now() };
    const bus = new AlertBus();
    const lifecycle = new AlertLifecycle({
      store: pki.store,
      keyring: pki.keyring,
      bus,
      now: () => clock.now,
    });
    const escalation = new Escalation({ store: pki.store, lifecycle, now: () => clock.now });
    const pages: [number, string, string[]][] = [];
    escalation.pages.on('page', (p) => pages.push([p.step, p.target, p.recipients]));
    try {
      const patientId = pki.store.patients.list()[0]!.id;
      pki.store.patients.assign(patientId, DEMO_CLINICIAN);
      const alert = pki.store.alerts.raise({
        patientId,
        deviceId: 'demo-ox',
        rule: 'spo2_low',
        severity: 'critical',
      });
      bus.emit('alert', { type: 'raised', alert });
      clock.now += 59_000;
      escalation.tick();
      clock.now += 2_000;
      escalation.tick();
      clock.now += 120_000;
      escalation.tick();
      expect(pages).toEqual([
        [0, 'assigned', [DEMO_CLINICIAN]],
        [1, 'role:on_call', [DEMO_CLINICIAN]],
        [2, 'role:team_lead', [DEMO_CLINICIAN]],
      ]);
    } finally {
      escalation.close();
      lifecycle.close();
    }
  });
});
