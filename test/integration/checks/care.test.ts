// VG-CARE-001…003 on a test hub's real store: each passes when the care team is ready and fails
// (or warns) when broken: a patient in no team or a gap in the rota, a critical ladder that only
// reaches the assigned clinicians, an alert left open past policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnCallRota } from '../../../care/on-call.js';
import { EscalationRepository } from '../../../core/store/escalations.js';
import { alertsAnswered, criticalLadderEscalates, onCallCovered } from '../../../hub/checks/care.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';

let pki: TestPki;
const H = 3_600_000;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

const run = async (check: typeof onCallCovered, now = Date.now()) => check.run(checkContext(pki, { now }));

describe('care checks', () => {
  it('VG-CARE-001: not applicable without patients; warns for a patient in no team, fails for a gap in the rota; passes when covered', async () => {
    expect((await run(onCallCovered)).status).toBe('not_applicable');
    const patient = addPatient(pki, 'Rota Patient');
    expect(await run(onCallCovered)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('1 patient(s) in no care team'),
    });
    const rota = new OnCallRota(pki.store);
    rota.teams.add({ id: 'ward-9', name: 'Ward 9', timeZone: 'Europe/Amsterdam' });
    rota.teams.setMember('ward-9', 'dr.a', 'clinician');
    rota.teams.assignPatient(patient, 'ward-9');
    const now = Date.now();
    rota.addShift('ward-9', 'dr.a', now - H, now + 12 * H, 'user:admin');
    expect(await run(onCallCovered, now)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining(`ward-9 (from ${new Date(now + 12 * H).toISOString()})`),
    });
    rota.addShift('ward-9', 'dr.a', now + 12 * H, now + 30 * H, 'user:admin');
    expect((await run(onCallCovered, now)).status).toBe('pass');
  });

  it('VG-CARE-002: the built-in critical ladder passes; one with only the assigned clinicians fails', async () => {
    expect((await run(criticalLadderEscalates)).status).toBe('pass');
    const ladders = new EscalationRepository(pki.store.db);
    ladders.setLadder('critical', [{ step: 0, afterS: 0, target: 'assigned' }]);
    expect((await run(criticalLadderEscalates)).status).toBe('fail');
    ladders.setLadder('critical', [
      { step: 0, afterS: 0, target: 'assigned' },
      { step: 1, afterS: 120, target: 'role:on_call' },
    ]);
    expect(await run(criticalLadderEscalates)).toMatchObject({
      status: 'pass',
      evidence: expect.stringContaining('role:on_call@120s'),
    });
  });

  it('VG-CARE-003: an open critical alert past an hour fails, acknowledged it passes', async () => {
    const patient = addPatient(pki, 'Alert Patient');
    const alert = pki.store.alerts.raise({
      patientId: patient,
      deviceId: 'ox-1',
      rule: 'spo2_low',
      severity: 'critical',
    });
    expect((await run(alertsAnswered)).status).toBe('pass');
    const later = Date.now() + 2 * H;
    expect(await run(alertsAnswered, later)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('spo2_low ×1'),
    });
    pki.store.alerts.acknowledge(alert.id, 'dr.a');
    expect((await run(alertsAnswered, later)).status).toBe('pass');
  });
});
