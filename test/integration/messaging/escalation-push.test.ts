// Urgent messages left unread reach the next member of the care team by Web Push too, wired as the
// hub wires it (hub/message-push.ts: the messaging feed's escalations into the alerts' push
// sender). The browsers are subscriptions of a push-service stand-in run by this test (a real
// HTTPS server on loopback: real push services cannot be reached from a test) that checks each
// request's VAPID JWT and decrypts the payload per RFC 8291 with the subscription's own keys; the
// test asserts the payload names no patient and holds no text. The harness clock moves; no sleeps.
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushNotifier } from '../../../care/push-notifications.js';
import { CareTeamRepository } from '../../../core/store/care-teams.js';
import { pushMessageEscalations } from '../../../hub/message-push.js';
import { addPatient } from '../../support/ingest.js';
import { PushServiceStandIn, type FakeBrowser } from '../../support/push-service.js';
import { enrolledUser, startTestHub, type TestHub } from '../api/harness.js';

const NAME = 'Florence Nightingale';
const TEXT = 'bed 12 desaturating since 3 am, platypus-81';
let hub: TestHub;
let pushService: PushServiceStandIn;
let notifier: PushNotifier;
let stopPush: () => void;
let patientId: string;
const browsers: Record<string, FakeBrowser> = {};

const messaging = () => hub.api.apiContext.messaging;

beforeAll(async () => {
  hub = await startTestHub();
  pushService = new PushServiceStandIn(hub.pki.authority.serverTls());
  await pushService.start();
  notifier = new PushNotifier({
    store: hub.pki.store,
    keyring: hub.pki.keyring,
    escalation: hub.escalation,
    lifecycle: hub.alertLifecycle,
    contact: 'mailto:messages@hospital.example',
    serviceHosts: ['127.0.0.1'],
    agent: new Agent({ ca: hub.pki.authority.caBundlePem() }),
    now: hub.clock.now,
  });
  stopPush = pushMessageEscalations(messaging().feed, notifier);
  patientId = addPatient(hub.pki, NAME);
  for (const name of ['dr.sender', 'dr.next', 'dr.direct', 'dr.peer'])
    await enrolledUser(hub, name, 'clinician');
  hub.pki.store.patients.assign(patientId, 'dr.sender');
  const teams = new CareTeamRepository(hub.pki.store.db);
  teams.add({ id: 'ward-msg-push', name: 'Ward', timeZone: 'Europe/Amsterdam' });
  teams.setMember('ward-msg-push', 'dr.next', 'lead');
  teams.assignPatient(patientId, 'ward-msg-push');
  const vapidKeyId = notifier.vapid.current().id;
  for (const name of ['dr.sender', 'dr.next', 'dr.peer']) {
    browsers[name] = pushService.browser();
    notifier.repo.subscribe({
      username: name,
      endpoint: browsers[name].subscription.endpoint,
      p256dh: browsers[name].subscription.keys.p256dh,
      auth: browsers[name].subscription.keys.auth,
      label: `${name} phone`,
      vapidKeyId,
    });
  }
}, 90_000);

afterAll(async () => {
  stopPush?.();
  await notifier?.close();
  await pushService?.close();
  await hub?.close();
});

describe('an urgent message left unread', () => {
  it('is pushed to the next member of the patient’s care team, once, with no PHI in the payload', async () => {
    const { conversation } = messaging().conversations.openForPatient(patientId, 'dr.sender');
    const sent = messaging().conversations.send(conversation, 'dr.sender', {
      body: TEXT,
      priority: 'urgent',
    });
    expect(messaging().escalation.tick()).toEqual([]);
    expect(pushService.received).toHaveLength(0);

    hub.clock.advance(11 * 60_000);
    expect(messaging().escalation.tick()).toEqual([
      { conversationId: conversation.id, messageId: sent.id, to: ['dr.next'] },
    ]);
    await pushService.waitForCount(1);
    await notifier.settled();
    expect(pushService.refused).toEqual([]);
    const [push] = pushService.for(browsers['dr.next']!);
    expect(push!.headers.urgency).toBe('high');
    expect(push!.vapid.sub).toBe('mailto:messages@hospital.example');
    const payload = JSON.parse(push!.text) as Record<string, string>;
    expect(payload).toMatchObject({
      body: 'Urgent message about a patient, unread',
      url: '/#/conversations',
    });
    expect(push!.text).not.toMatch(/Florence|Nightingale|platypus|bed 12|pat_|cnv_/);
    expect(push!.text).not.toContain(patientId);
    // Only the next member: not the sender, not anyone else.
    expect(pushService.for(browsers['dr.sender']!)).toEqual([]);
    expect(pushService.for(browsers['dr.peer']!)).toEqual([]);
    // A stored delivery like an alert's (no alert: id 0), sent.
    expect(notifier.repo.deliveriesOf(0)).toEqual([
      expect.objectContaining({ username: 'dr.next', reason: 'message_escalation', state: 'sent' }),
    ]);

    // Escalated once: a later tick pushes nothing more.
    hub.clock.advance(11 * 60_000);
    expect(messaging().escalation.tick()).toEqual([]);
    await notifier.settled();
    expect(pushService.received).toHaveLength(1);
  });

  it('in a direct conversation the other members are pushed again, with no text', async () => {
    const before = pushService.received.length;
    const c = messaging().conversations.openDirect('dr.direct', ['dr.peer']);
    messaging().conversations.send(c, 'dr.direct', { body: TEXT, priority: 'urgent' });
    hub.clock.advance(11 * 60_000);
    expect(messaging().escalation.tick()).toEqual([expect.objectContaining({ to: ['dr.peer'] })]);
    await pushService.waitForCount(before + 1);
    await notifier.settled();
    const pushes = pushService.for(browsers['dr.peer']!);
    expect(pushes).toHaveLength(1);
    expect(JSON.parse(pushes[0]!.text)).toMatchObject({ body: 'Urgent message from a colleague, unread' });
    expect(pushes[0]!.text).not.toMatch(/platypus|bed 12/);
  });

  it('a normal message past the escalation time is not pushed', async () => {
    const before = pushService.received.length;
    const { conversation } = messaging().conversations.openForPatient(patientId, 'dr.sender');
    messaging().conversations.send(conversation, 'dr.sender', { body: 'routine', priority: 'normal' });
    hub.clock.advance(11 * 60_000);
    expect(messaging().escalation.tick()).toEqual([]);
    await notifier.settled();
    expect(pushService.received).toHaveLength(before);
  });
});
