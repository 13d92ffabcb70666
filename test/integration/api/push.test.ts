// Web Push end to end: clinicians subscribe their browsers over real HTTPS; a desaturation
// published through the mutual-TLS broker into the real ingest raises a critical alert, and the
// escalation's pages reach the browsers through a push-service stand-in run by this test (a
// real HTTPS server on loopback: real push services cannot be reached from a test). The
// stand-in checks each request's VAPID JWT and decrypts the payload per RFC 8291 with the
// subscription's own keys (node:crypto, not the sending library), and the test asserts the
// payload holds no name, value or patient id. Time moves with the harness clock (no sleeps).
import { Agent } from 'node:https';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushNotifier, RETRY_DELAYS_S } from '../../../care/push-notifications.js';
import { CareTeamRepository } from '../../../core/store/care-teams.js';
import { connectDevice } from '../../support/broker.js';
import { publishDesaturation } from '../../support/desaturation.js';
import { addPatient } from '../../support/ingest.js';
import { PushServiceStandIn, type FakeBrowser } from '../../support/push-service.js';
import type { ApiClient } from './harness.js';
import { enrolledUser, login, startTestHub, type TestHub } from './harness.js';

const MIN = 60_000;
const CONTACT = 'mailto:alerts@hospital.example';
const NAME = 'Virginia Apgar';
let hub: TestHub;
let pushService: PushServiceStandIn;
let notifier: PushNotifier;
let api: ApiClient;
let patientId: string;
let device: MqttClient;
const at = { seq: 0, ts: Date.now() - 10 * 60_000 };
const tokens: Record<string, string> = {};
const users: Record<string, { username: string; secret: string }> = {};
const browsers: Record<string, FakeBrowser> = {};

beforeAll(async () => {
  hub = await startTestHub();
  pushService = new PushServiceStandIn(hub.pki.authority.serverTls());
  await pushService.start();
  notifier = new PushNotifier({
    store: hub.pki.store,
    keyring: hub.pki.keyring,
    escalation: hub.escalation,
    lifecycle: hub.alertLifecycle,
    contact: CONTACT,
    serviceHosts: ['127.0.0.1'],
    agent: new Agent({ ca: hub.pki.authority.caBundlePem() }),
    now: hub.clock.now,
  });
  // An API of the same hub whose configured push service is the stand-in.
  api = (
    await hub.extraServer({
      config: { ...hub.deps.config, pushServiceHosts: ['127.0.0.1'] },
      pushNotifier: notifier,
    })
  ).client;
  patientId = addPatient(hub.pki, NAME);
  device = await connectDevice(
    hub.brokerPort,
    await hub.pki.issueDevice('ox-push', 'wearable', { patientId }),
    'ox-push',
  );
  tokens.admin = (await enrolledUser(hub, 'admin.push', 'admin')).token;
  for (const name of ['dr.assigned', 'dr.night']) {
    const user = await enrolledUser(hub, name, 'clinician');
    users[name] = user;
    tokens[name] = user.token;
  }
  hub.pki.store.patients.assign(patientId, 'dr.assigned');
  const teams = new CareTeamRepository(hub.pki.store.db);
  teams.add({ id: 'ward-push', name: 'Ward', timeZone: 'Europe/Amsterdam' });
  teams.setMember('ward-push', 'dr.night', 'clinician');
  teams.assignPatient(patientId, 'ward-push');
  teams.addShift({
    teamId: 'ward-push',
    username: 'dr.night',
    startsAt: hub.clock.now() - 60 * MIN,
    endsAt: hub.clock.now() + 12 * 60 * MIN,
    createdBy: 'test',
  });
}, 90_000);

afterAll(async () => {
  await notifier?.close();
  await device?.endAsync();
  await hub?.close();
  await pushService?.close();
});

const call = (method: string, path: string, token: string, body?: unknown) =>
  api.request(method, `/api/v1${path}`, { token, ...(body === undefined ? {} : { body }) });

/** SpO2 85 % for 40 s of reading time: the 30 s sustain raises the critical alert. */
async function desaturate() {
  await publishDesaturation(device, 'ox-push', at);
  return hub.pki.store.alerts.list({ patientId, status: 'open' })[0]!;
}

describe('Web Push to staff browsers', () => {
  it('refuses subscriptions that are not a push service’s, and stores nothing', async () => {
    const good = pushService.browser().subscription;
    const cases: [unknown, string][] = [
      [{ ...good, endpoint: good.endpoint.replace('https:', 'http:') }, 'endpoint'],
      [{ ...good, endpoint: 'https://internal.example/admin' }, 'endpoint'],
      [{ ...good, keys: { ...good.keys, p256dh: 'AAAA' } }, 'keys.p256dh'],
      [{ ...good, keys: { ...good.keys, auth: good.keys.p256dh } }, 'keys.auth'],
    ];
    for (const [body, field] of cases) {
      const res = await call('POST', '/push/subscriptions', tokens['dr.assigned']!, body);
      expect(res.status, res.text).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'PUSH_SUBSCRIPTION_INVALID', details: { field } } });
    }
    const admin = await call('POST', '/push/subscriptions', tokens.admin!, good);
    expect(admin.status).toBe(403);
    expect(notifier.repo.allSubscriptions()).toEqual([]);
    expect(hub.pki.store.audit.list({ action: 'push.subscribe' })).toEqual([]);
  });

  it('clinicians subscribe their browsers with the hub’s VAPID key', async () => {
    const key = await call('GET', '/push/vapid-key', tokens['dr.assigned']!);
    expect(key.status).toBe(200);
    expect(Buffer.from((key.body as { publicKey: string }).publicKey, 'base64url')).toHaveLength(65);
    for (const name of ['dr.assigned', 'dr.night']) {
      browsers[name] = pushService.browser();
      const res = await call('POST', '/push/subscriptions', tokens[name]!, {
        ...browsers[name]!.subscription,
        expirationTime: null,
        label: `${name}'s phone`,
      });
      expect(res.status, res.text).toBe(201);
    }
    const mine = await call('GET', '/push/subscriptions', tokens['dr.night']!);
    expect(mine.body).toMatchObject({ subscriptions: [{ label: "dr.night's phone", lastSuccessAt: null }] });
    // The endpoint is a capability: it is not in the audit log.
    const audits = hub.pki.store.audit.list({ action: 'push.subscribe' });
    expect(audits).toHaveLength(2);
    expect(JSON.stringify(audits)).not.toContain('/push/');
  });

  it('a critical alert reaches the assigned clinician’s browser at once, with no PHI in the payload', async () => {
    const alert = await desaturate();
    expect(alert).toMatchObject({ rule: 'spo2_low', severity: 'critical' });
    await notifier.settled();
    const [push] = pushService.for(browsers['dr.assigned']!);
    expect(push).toBeDefined();
    expect(pushService.refused).toEqual([]);
    const publicKey = (
      (await call('GET', '/push/vapid-key', tokens['dr.assigned']!)).body as { publicKey: string }
    ).publicKey;
    expect(push!.vapid).toMatchObject({ publicKey, aud: pushService.origin, sub: CONTACT, alg: 'ES256' });
    expect(push!.headers.urgency).toBe('high');
    const payload = JSON.parse(push!.text) as { title: string; body: string; url: string };
    expect(payload.body).toBe('Critical alert for a patient of yours');
    const token = /^\/#\/notifications\/([A-Za-z0-9_-]{22})$/.exec(payload.url)?.[1];
    expect(token).toBeDefined();
    expect(payload).toEqual({
      title: 'VitalGate',
      body: payload.body,
      url: `/#/notifications/${token}`,
      tag: token,
    });
    // The random token may contain any digit or letters, so the PHI check reads the payload without it.
    const withoutToken = push!.text.replaceAll(token!, '<token>');
    for (const phi of [
      patientId,
      NAME,
      'Virginia',
      'Apgar',
      '85',
      'spo2',
      'SpO2',
      'ox-push',
      String(alert.id),
    ])
      expect(withoutToken).not.toContain(phi);

    // The link opens only for its recipient, after sign-in.
    const opened = await call('GET', `/notifications/${token}`, tokens['dr.assigned']!);
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({ alertId: alert.id, patientId, severity: 'critical' });
    expect((await call('GET', `/notifications/${token}`, tokens['dr.night']!)).status).toBe(404);
    expect((await api.request('GET', `/api/v1/notifications/${token}`)).status).toBe(401);
    expect(pushService.for(browsers['dr.night']!)).toEqual([]);
    expect(notifier.repo.deliveriesOf(alert.id).map((d) => [d.username, d.state])).toEqual([
      ['dr.assigned', 'sent'],
    ]);
  });

  it('the unacknowledged alert reaches the on-call clinician at minute 5; a snooze holds the next notice until it ends', async () => {
    const alert = hub.pki.store.alerts.list({ patientId, status: 'open' })[0]!;
    hub.clock.advance(5 * MIN);
    hub.escalation.tick();
    await notifier.settled();
    expect(pushService.for(browsers['dr.night']!)).toHaveLength(1);

    const snoozed = await call('POST', `/alerts/${alert.id}/snooze`, tokens['dr.assigned']!, {
      minutes: 20,
      reason: 'repositioning the probe',
    });
    expect(snoozed.status, snoozed.text).toBe(200);
    const before = pushService.received.length;
    hub.clock.advance(15 * MIN);
    hub.escalation.tick();
    hub.alertLifecycle.tick();
    notifier.tick();
    await notifier.settled();
    expect(pushService.received).toHaveLength(before);

    // Still breached when the snooze ends: both browsers it reached are notified again.
    hub.clock.advance(6 * MIN);
    hub.alertLifecycle.tick();
    await notifier.settled();
    expect(pushService.received).toHaveLength(before + 2);
    expect(pushService.refused).toEqual([]);
    expect(new Set(notifier.repo.deliveriesOf(alert.id).map((d) => d.reason))).toEqual(
      new Set(['escalation', 'snooze_ended']),
    );
  });

  it('a push the service refuses for now is retried; one that keeps failing is reported; a gone subscription is dropped', async () => {
    // Sessions idle out after 15 min of (test) clock: sign in again.
    for (const name of ['dr.assigned', 'dr.night']) tokens[name] = await login(hub, users[name]!);
    // 503 then accepted: delivered at the first retry.
    pushService.answers.push(503);
    const first = await call('POST', '/push/test', tokens['dr.night']!);
    expect(first.body).toEqual({ browsers: 1, delivered: 0 });
    const [retried] = notifier.repo.deliveriesOf(0).slice(-1);
    expect(retried).toMatchObject({ state: 'pending', attempts: 1, lastStatus: 503 });
    hub.clock.advance(RETRY_DELAYS_S[0] * 1000);
    notifier.tick();
    await notifier.settled();
    expect(notifier.repo.delivery(retried!.id)).toMatchObject({ state: 'sent', attempts: 2 });

    // Always 500: four attempts, then failed and audited.
    pushService.answers.push(500, 500, 500, 500);
    await call('POST', '/push/test', tokens['dr.night']!);
    const failing = notifier.repo.deliveriesOf(0).at(-1)!;
    for (const delay of RETRY_DELAYS_S) {
      hub.clock.advance(delay * 1000);
      notifier.tick();
      await notifier.settled();
    }
    expect(notifier.repo.delivery(failing.id)).toMatchObject({
      state: 'failed',
      attempts: 4,
      lastStatus: 500,
    });
    const reported = hub.pki.store.audit.list({ action: 'push.delivery_failed' });
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ outcome: 'failure', target: 'user:dr.night' });

    // 410 Gone: the browser unsubscribed; its subscription is dropped and not retried.
    pushService.answers.push(410);
    await call('POST', '/push/test', tokens['dr.night']!);
    expect(notifier.repo.subscriptionsOf('dr.night')).toEqual([]);
    expect(hub.pki.store.audit.list({ action: 'push.subscription_gone' })).toHaveLength(1);
    expect((await call('GET', '/push/subscriptions', tokens['dr.night']!)).body).toEqual({
      subscriptions: [],
    });
  });

  it('a clinician removes a browser; another user’s cannot be removed', async () => {
    const [sub] = notifier.repo.subscriptionsOf('dr.assigned');
    expect((await call('DELETE', `/push/subscriptions/${sub!.id}`, tokens['dr.night']!)).status).toBe(404);
    expect(notifier.repo.subscriptionsOf('dr.assigned')).toHaveLength(1);
    expect((await call('DELETE', `/push/subscriptions/${sub!.id}`, tokens['dr.assigned']!)).status).toBe(204);
    expect(notifier.repo.subscriptionsOf('dr.assigned')).toEqual([]);
    expect(hub.pki.store.audit.list({ action: 'push.unsubscribe' })).toHaveLength(1);
  });
});
