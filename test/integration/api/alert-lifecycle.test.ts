// Snooze, resolve and history over real HTTPS, with the alert raised by readings published
// through the mutual-TLS broker into the real ingest pipeline. The clock is the harness's test
// clock and snooze ends are checked by calling tick() (the hub does it on a timer): no sleeps.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertNotice } from '../../../care/alert-lifecycle.js';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { addPatient, envelope } from '../../support/ingest.js';
import { enrolledUser, startTestHub, type TestHub } from './harness.js';

let hub: TestHub;
let patientId: string;
let device: MqttClient;
let seq = 0;
let ts = Date.now() - 120_000;
const tokens = { dr: '', other: '' };
const notices: AlertNotice[] = [];

beforeAll(async () => {
  hub = await startTestHub();
  patientId = addPatient(hub.pki, 'Elizabeth Blackwell');
  const creds = await hub.pki.issueDevice('hr-life', 'wearable', { patientId });
  device = await connectDevice(hub.brokerPort, creds, 'hr-life');
  tokens.dr = (await enrolledUser(hub, 'dr.life', 'clinician')).token;
  tokens.other = (await enrolledUser(hub, 'dr.elsewhere', 'clinician')).token;
  hub.pki.store.patients.assign(patientId, 'dr.life');
  hub.alertLifecycle.notices.on('notice', (n) => notices.push(n));
}, 60_000);

afterAll(async () => {
  await device?.endAsync();
  await hub?.close();
});

/** One heart-rate reading through the broker; alerts are judged before the PUBACK. */
async function heartRate(value: number): Promise<void> {
  seq += 1;
  ts += 1_000;
  await publishQos1(
    device,
    'devices/hr-life/telemetry',
    envelope(seq, [{ type: 'heart_rate', value, unit: '/min' }], ts).toString(),
  );
}

const post = (path: string, token: string, body: unknown) =>
  hub.client.request('POST', path, { token, body });
const openAlerts = () => hub.pki.store.alerts.list({ patientId, status: 'open' });

describe('alert lifecycle over HTTPS', () => {
  it('snooze with a reason: refused when malformed (nothing stored); no notice while snoozed; notified again at its end while still breached', async () => {
    await heartRate(150);
    const alert = openAlerts()[0]!;
    expect(notices.map((n) => [n.reason, n.alert.id])).toEqual([['raised', alert.id]]);

    const events = () =>
      hub.pki.store.db.prepare('SELECT COUNT(*) AS n FROM alert_events').get() as { n: number };
    for (const body of [{ minutes: 0, reason: 'ok then' }, { minutes: 10 }, { minutes: 10, reason: 'x' }]) {
      const bad = await post(`/api/v1/alerts/${alert.id}/snooze`, tokens.dr, body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
    const foreign = await post(`/api/v1/alerts/${alert.id}/snooze`, tokens.other, {
      minutes: 10,
      reason: 'not mine',
    });
    expect(foreign.status).toBe(403);
    expect(events().n).toBe(0);
    expect(hub.pki.store.audit.list({ action: 'alert.snooze' })).toEqual([]);

    const res = await post(`/api/v1/alerts/${alert.id}/snooze`, tokens.dr, {
      minutes: 10,
      reason: 'on the treadmill',
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: alert.id, status: 'open', snoozedUntil: expect.any(String) });
    expect(hub.pki.store.audit.list({ action: 'alert.snooze' })).toEqual([
      expect.objectContaining({
        actor: 'user:dr.life',
        target: `patient:${patientId}`,
        details: expect.objectContaining({ alertId: alert.id, minutes: 10 }),
      }),
    ]);

    await heartRate(155); // still breached
    hub.clock.advance(9 * 60_000);
    expect(hub.alertLifecycle.tick()).toEqual([]);
    expect(notices).toHaveLength(1);
    hub.clock.advance(60_000);
    expect(hub.alertLifecycle.tick()).toHaveLength(1);
    expect(notices.map((n) => [n.reason, n.alert.id])).toEqual([
      ['raised', alert.id],
      ['snooze_ended', alert.id],
    ]);
  });

  it('resolve with a reason; the history shows every transition; a continuing breach raises a new alert', async () => {
    const alert = openAlerts()[0]!;
    expect(
      (await hub.client.request('POST', `/api/v1/alerts/${alert.id}/ack`, { token: tokens.dr, body: {} }))
        .status,
    ).toBe(200);
    expect((await post(`/api/v1/alerts/${alert.id}/resolve`, tokens.dr, {})).status).toBe(400);
    const res = await post(`/api/v1/alerts/${alert.id}/resolve`, tokens.dr, {
      reason: 'rate-control started',
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: alert.id, status: 'cleared', snoozedUntil: null });
    const history = (res.body as { history: { kind: string; actor: string | null; reason?: string }[] })
      .history;
    expect(history.map((h) => [h.kind, h.actor, h.reason])).toEqual([
      ['raised', null, undefined],
      ['snoozed', 'user:dr.life', 'on the treadmill'],
      // Oldest first. The acknowledgement is stamped by the store's clock, which the test does
      // not move on, so it sorts before the re-notification ten test-clock minutes later.
      ['acknowledged', 'user:dr.life', undefined],
      ['renotified', null, undefined],
      ['resolved', 'user:dr.life', 'rate-control started'],
    ]);
    expect(hub.pki.store.audit.list({ action: 'alert.resolve' })).toHaveLength(1);
    const again = await post(`/api/v1/alerts/${alert.id}/resolve`, tokens.dr, { reason: 'twice' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'ALERT_STATE_CONFLICT' } });

    const read = await hub.client.request('GET', `/api/v1/alerts/${alert.id}/history`, { token: tokens.dr });
    expect(read.status).toBe(200);
    expect(
      (await hub.client.request('GET', `/api/v1/alerts/${alert.id}/history`, { token: tokens.other })).status,
    ).toBe(403);

    await heartRate(160);
    const fresh = openAlerts();
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.id).not.toBe(alert.id);
    expect(notices.at(-1)).toMatchObject({ reason: 'raised', alert: { id: fresh[0]!.id } });
  });
});
