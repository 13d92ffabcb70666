// Message retention and urgent-message escalation as the hub runs them: a Hub started as
// `vitalgate start` starts it (hub/main.ts with hub/plugins.ts, in this process: real broker, API
// and InfluxDB), its own timer (VITALGATE_MESSAGE_SWEEP_SECONDS, one second here) and a clock the
// test moves on. Nothing here calls tick() or sweep(): the tests wait for the events the hub's
// timer makes the messaging feed emit, then check what the store holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { silentLogger } from '../../../core/logger.js';
import { PatientRegistry } from '../../../core/patient-registry.js';
import { Hub, type RunningHub } from '../../../hub/main.js';
import { HUB_PLUGINS } from '../../../hub/plugins.js';
import type { AddressedEvent, MessagingEvent } from '../../../messaging/feed.js';
import type { Messaging } from '../../../messaging/messaging.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { testInflux, type TestInflux } from '../../support/influx.js';
import { TestClock } from '../api/harness.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
let pki: TestPki;
let influx: TestInflux;
let hub: Hub;
let running: RunningHub;
let messaging: Messaging;
let patientId: string;
const clock = new TestClock();

/** The next feed event of that kind, as the hub's timer makes it happen. */
function nextEvent(kind: MessagingEvent['kind']): Promise<AddressedEvent> {
  return new Promise((resolve) => {
    const stop = messaging.feed.watch((e) => {
      if (e.event.kind !== kind) return;
      stop();
      resolve(e);
    });
  });
}

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  const config = loadConfig({
    env: {
      VITALGATE_DATA_DIR: pki.dataDir,
      VITALGATE_INFLUX_URL: influx.url,
      VITALGATE_INFLUX_DB: influx.database,
      VITALGATE_MQTT_PORT: '0',
      VITALGATE_API_PORT: '0',
      VITALGATE_CHECKS_INTERVAL_MINUTES: '0',
      VITALGATE_MESSAGE_SWEEP_SECONDS: '1',
      VITALGATE_MESSAGE_ESCALATION_MINUTES: '10',
      VITALGATE_MESSAGE_RETENTION_DAYS: '30',
    },
  });
  hub = new Hub(config, HUB_PLUGINS, silentLogger(), clock.now);
  await hub.start();
  running = hub.hub!;
  messaging = running.messaging!;
  const { store, keyring } = running.ctx;
  for (const username of ['dr.sender', 'dr.colleague'])
    store.users.add({ username, role: 'clinician', passwordHash: 'x', mustChangePassword: false });
  patientId = new PatientRegistry(store.patients, keyring, store.audit).add(
    { name: 'Timer Patient', birthDate: '1950-01-01' },
    'test',
  ).id;
  store.patients.assign(patientId, 'dr.sender');
  store.patients.assign(patientId, 'dr.colleague');
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await influx?.drop();
  pki?.cleanup();
});

describe('the hub’s messaging timer', () => {
  it('escalates an urgent message left unread once the clock passes the escalation time', async () => {
    const { conversation } = messaging.conversations.openForPatient(patientId, 'dr.sender');
    const sent = messaging.conversations.send(conversation, 'dr.sender', {
      body: 'please look at bed 12',
      priority: 'urgent',
    });
    const escalated = nextEvent('escalation');
    clock.advance(11 * MIN);
    const { recipients, event } = await escalated;
    expect(recipients).toEqual(['dr.colleague']);
    expect(event).toEqual({
      kind: 'escalation',
      conversationId: conversation.id,
      messageId: sent.id,
      aboutPatient: true,
    });
    const store = running.ctx.store;
    expect(store.securityEvents.list({ kind: 'urgent_message_unread' })).toEqual([
      expect.objectContaining({ username: 'dr.sender' }),
    ]);
    expect(store.audit.list({ action: 'message.escalate' })[0]?.actor).toBe('system:message-escalation');
  }, 20_000);

  it('destroys messages past their lifespan once the clock passes it', async () => {
    const { conversation } = messaging.conversations.openForPatient(patientId, 'dr.sender');
    const kept = messaging.conversations.send(conversation, 'dr.colleague', {
      body: 'seen, on my way',
      priority: 'normal',
    });
    const expired = nextEvent('expired');
    clock.advance(31 * DAY);
    const { event, recipients } = await expired;
    expect(event.kind === 'expired' && event.conversationId).toBe(conversation.id);
    expect(event.kind === 'expired' && event.messageIds).toContain(kept.id);
    expect(recipients).toEqual(expect.arrayContaining(['dr.sender', 'dr.colleague']));
    expect(messaging.conversations.messages.count(conversation.id)).toBe(0);
    expect(running.ctx.store.audit.list({ action: 'message.expire' }).length).toBeGreaterThanOrEqual(2);
  }, 20_000);
});
