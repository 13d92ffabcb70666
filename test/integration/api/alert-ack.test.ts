// POST /api/v1/alerts/{id}/ack over real HTTPS, with alerts raised by the real ingest pipeline:
// a clinician acknowledges an open alert of an assigned patient (audited, and listed as
// acknowledged); everything else is refused and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPatient, envelope } from '../../support/ingest.js';
import { enrolledUser, startTestHub, type TestHub } from './harness.js';

let hub: TestHub;
let mine: string;
let other: string;
let dr: { token: string };
let auditor: { token: string };

/** Raises a heart_rate_high alert for the patient through the pipeline; returns its id. */
async function raiseAlert(patientId: string, deviceId: string): Promise<number> {
  hub.pki.store.devices.add({ id: deviceId, kind: 'wearable', patientId });
  await hub.pipeline.accept(
    { deviceId, kind: 'wearable', patientId },
    envelope(1, [{ type: 'heart_rate', value: 150, unit: '/min' }]),
  );
  const alert = hub.pki.store.alerts.list({ patientId, status: 'open' })[0];
  if (!alert) throw new Error('no alert raised');
  expect(alert.rule).toBe('heart_rate_high');
  return alert.id;
}

beforeAll(async () => {
  hub = await startTestHub();
  mine = addPatient(hub.pki, 'Assigned Patient');
  other = addPatient(hub.pki, 'Someone Else');
  dr = await enrolledUser(hub, 'dr.ack', 'clinician');
  auditor = await enrolledUser(hub, 'aud.ack', 'auditor');
  hub.pki.store.patients.assign(mine, 'dr.ack');
}, 60_000);
afterAll(async () => hub?.close());

const ack = (id: number | string, token: string | undefined) =>
  hub.client.request('POST', `/api/v1/alerts/${id}/ack`, { ...(token ? { token } : {}), body: {} });
const acks = () => hub.pki.store.audit.list({ action: 'alert.ack' });

describe('acknowledging an alert over HTTPS', () => {
  it('acknowledges an open alert of an assigned patient, audited, and listed as acknowledged', async () => {
    const id = await raiseAlert(mine, 'wear-ack-1');
    const res = await ack(id, dr.token);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      id,
      patientId: mine,
      rule: 'heart_rate_high',
      status: 'acknowledged',
      ackedBy: 'dr.ack',
      ackedAt: expect.any(String),
    });
    expect(hub.pki.store.alerts.get(id)).toMatchObject({ status: 'acknowledged', ackedBy: 'dr.ack' });
    expect(acks()).toEqual([
      expect.objectContaining({
        actor: 'user:dr.ack',
        target: `patient:${mine}`,
        outcome: 'success',
        source: '127.0.0.1',
        details: expect.objectContaining({ alertId: id, rule: 'heart_rate_high' }),
      }),
    ]);

    const listed = await hub.client.request('GET', `/api/v1/alerts?patientId=${mine}`, { token: dr.token });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([expect.objectContaining({ id, status: 'acknowledged', ackedBy: 'dr.ack' })]);

    // Twice is a conflict, and nothing more is recorded.
    const again = await ack(id, dr.token);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'ALERT_STATE_CONFLICT' } });
    expect(acks()).toHaveLength(1);
  });

  it('refuses, and changes nothing: another clinician’s patient, a role without PHI, no session, no such alert, a bad id', async () => {
    const foreign = await raiseAlert(other, 'wear-ack-2');
    // A second patient of the clinician's (the first one's alert is acknowledged, not cleared).
    const alsoMine = addPatient(hub.pki, 'Also Assigned');
    hub.pki.store.patients.assign(alsoMine, 'dr.ack');
    const open = await raiseAlert(alsoMine, 'wear-ack-3');
    const before = acks().length;

    const notAssigned = await ack(foreign, dr.token);
    expect(notAssigned.status).toBe(403);
    expect(notAssigned.body).toMatchObject({ error: { code: 'PATIENT_NOT_ACCESSIBLE' } });

    const wrongRole = await ack(open, auditor.token);
    expect(wrongRole.status).toBe(403);

    const anonymous = await ack(open, undefined);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });

    const missing = await ack(999_999, dr.token);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'ALERT_NOT_FOUND' } });

    expect((await ack('not-a-number', dr.token)).status).toBe(400);

    for (const id of [foreign, open]) {
      expect(hub.pki.store.alerts.get(id)).toMatchObject({ status: 'open', ackedBy: null, ackedAt: null });
    }
    expect(acks()).toHaveLength(before);
  });
});
