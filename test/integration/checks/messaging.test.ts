// VG-MSG-001…005 on a test hub's real store and keyring: each passes when messaging is set up and
// running, and fails (or warns) when broken: a lifespan over policy, a message left past its
// lifespan, a message written in clear, escalation off, an urgent message left unescalated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type HubConfig } from '../../../core/config.js';
import { MessageRepository } from '../../../core/store/messages.js';
import {
  messageRetentionConfigured,
  messageRetentionEnforced,
  messagesSealed,
  urgentMessagesAnswered,
  urgentMessagesEscalate,
} from '../../../hub/checks/messaging.js';
import { createMessaging, type Messaging } from '../../../messaging/messaging.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';

let pki: TestPki;
let messaging: Messaging;
let conversationId: string;
let clock = Date.now();
const DAY = 86_400_000;

beforeAll(async () => {
  pki = await createTestPki();
  const patientId = addPatient(pki, 'Check Patient');
  for (const u of ['dr.a', 'dr.b'])
    pki.store.users.add({ username: u, role: 'clinician', passwordHash: 'x', mustChangePassword: false });
  pki.store.patients.assign(patientId, 'dr.a');
  pki.store.patients.assign(patientId, 'dr.b');
  messaging = createMessaging({
    store: pki.store,
    keyring: pki.keyring,
    retentionDays: 30,
    escalationMinutes: 10,
    mayReadPatient: (u, p) => pki.store.patients.isAssigned(p, u),
    now: () => clock,
  });
  conversationId = messaging.conversations.openForPatient(patientId, 'dr.a').conversation.id;
});
afterAll(() => pki.cleanup());

const withConfig = (env: Record<string, string>): HubConfig =>
  loadConfig({ env: { VITALGATE_DATA_DIR: pki.dataDir, ...env } });
const run = async (
  check: typeof messagesSealed,
  options: { env?: Record<string, string>; now?: number } = {},
) =>
  check.run(
    checkContext(pki, {
      now: options.now ?? clock,
      ...(options.env ? { config: withConfig(options.env) } : {}),
    }),
  );
const conversation = () => messaging.conversations.require(conversationId);

describe('messaging checks', () => {
  it('VG-MSG-001: passes at the default; fails above policy', async () => {
    expect((await run(messageRetentionConfigured)).status).toBe('pass');
    expect(
      await run(messageRetentionConfigured, { env: { VITALGATE_MESSAGE_RETENTION_DAYS: '365' } }),
    ).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('365 days'),
    });
  });

  it('VG-MSG-003: passes for sealed messages; fails for a message written in clear', async () => {
    expect((await run(messagesSealed)).status).toBe('not_applicable');
    messaging.conversations.send(conversation(), 'dr.a', { body: 'sealed note', priority: 'normal' });
    expect(await run(messagesSealed)).toMatchObject({
      status: 'pass',
      evidence: '1 stored message(s), each sealed',
    });
    const messages = new MessageRepository(pki.store.db);
    const id = messages.nextId();
    messages.add({
      id,
      conversationId,
      sender: 'dr.a',
      priority: 'normal',
      sentAt: clock,
      expiresAt: clock + DAY,
      keyVersion: 1,
      sealedKey: Buffer.alloc(60),
      sealedContent: Buffer.from(JSON.stringify({ body: 'written in clear' })),
    });
    expect(await run(messagesSealed)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining(String(id)),
    });
    messages.destroy([id]);
    expect((await run(messagesSealed)).status).toBe('pass');
  });

  it('VG-MSG-002: passes while the sweep keeps up; fails for a message past its lifespan', async () => {
    expect((await run(messageRetentionEnforced)).status).toBe('pass');
    const later = clock + 31 * DAY;
    expect(await run(messageRetentionEnforced, { now: later })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('1 message(s) past their lifespan'),
    });
    clock = later;
    messaging.retention.sweep();
    expect((await run(messageRetentionEnforced)).status).toBe('pass');
  });

  it('VG-MSG-004: passes at the default; fails with escalation off; warns above policy', async () => {
    expect((await run(urgentMessagesEscalate)).status).toBe('pass');
    expect(
      (await run(urgentMessagesEscalate, { env: { VITALGATE_MESSAGE_ESCALATION_MINUTES: '0' } })).status,
    ).toBe('fail');
    expect(
      (await run(urgentMessagesEscalate, { env: { VITALGATE_MESSAGE_ESCALATION_MINUTES: '45' } })).status,
    ).toBe('warn');
  });

  it('VG-MSG-005: fails for an urgent message left unescalated; passes once it escalated', async () => {
    const sent = messaging.conversations.send(conversation(), 'dr.a', {
      body: 'call me',
      priority: 'urgent',
    });
    expect((await run(urgentMessagesAnswered)).status).toBe('pass');
    clock += 20 * 60_000;
    expect(await run(urgentMessagesAnswered)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining(`#${sent.id}`),
    });
    expect(messaging.escalation.tick()).toEqual([{ conversationId, messageId: sent.id, to: ['dr.b'] }]);
    expect((await run(urgentMessagesAnswered)).status).toBe('pass');
  });
});
