// Care-team messaging through the real API (HTTPS), the real store (SQLite file and WAL) and a
// real hub's parts (harness: real InfluxDB, broker, keyring). The clock is the harness's test
// clock: retention and escalation are driven by moving it and calling sweep()/tick(), no sleeps.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_PLANE_FILE } from '../../../core/store/control-plane.js';
import { copyControlPlane } from '../../../hub/backup/control-plane-copy.js';
import { fhirPatientId } from '../../../fhir/ids.js';
import { addPatient } from '../../support/ingest.js';
import { fhirValidator } from '../api/fhir-schema.js';
import { enrolledUser, login, startTestHub, waitFor, type TestHub } from '../api/harness.js';

let hub: TestHub;
let patientId: string;
let otherPatientId: string;
let conversationId: string;
const tokens: Record<string, string> = {};
const users: Record<string, { username: string; secret: string }> = {};
const SECRET_TEXT = 'SpO2 of bed 12 dropping since 3 am, zebra-7431 can you look?';
const HOUR = 3_600_000;

const call = (method: string, path: string, token: string, body?: unknown) =>
  hub.client.request(method, `/api/v1${path}`, { token, ...(body === undefined ? {} : { body }) });
const messaging = () => hub.api.apiContext.messaging;
const dbBytes = () => {
  const file = join(hub.pki.dataDir, CONTROL_PLANE_FILE);
  return Buffer.concat([
    readFileSync(file),
    existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0),
  ]);
};
/** Moves the test clock on; sessions idle past their timeout sign in again. */
async function advance(ms: number) {
  hub.clock.advance(ms);
  for (const name of ['admin', 'dr.a', 'dr.b', 'dr.direct']) tokens[name] = await login(hub, users[name]!);
}
const sendText = async (token: string, body: string, extra: object = {}) => {
  const r = await call('POST', `/conversations/${conversationId}/messages`, token, { body, ...extra });
  expect(r.status, r.text).toBe(201);
  return r.body as { id: number; body: string };
};

beforeAll(async () => {
  hub = await startTestHub();
  patientId = addPatient(hub.pki, 'Grace Hopper');
  otherPatientId = addPatient(hub.pki, 'Ada Lovelace');
  for (const [name, role] of [
    ['admin', 'admin'],
    ['auditor', 'auditor'],
    ['dr.a', 'clinician'],
    ['dr.b', 'clinician'],
    ['dr.other', 'clinician'],
    ['dr.glass', 'clinician'],
    ['dr.direct', 'clinician'],
  ] as const) {
    const user = await enrolledUser(hub, name === 'admin' || name === 'auditor' ? `${name}.msg` : name, role);
    users[name] = user;
    tokens[name] = user.token;
  }
  hub.pki.store.patients.assign(patientId, 'dr.a');
  hub.pki.store.patients.assign(patientId, 'dr.b');
  hub.pki.store.patients.assign(otherPatientId, 'dr.other');
}, 90_000);

afterAll(async () => {
  await hub?.close();
});

describe('a patient conversation', () => {
  it('an assigned clinician opens it (once per patient) and members read and write', async () => {
    const opened = await call('POST', '/conversations', tokens['dr.a']!, { patientId });
    expect(opened.status, opened.text).toBe(201);
    conversationId = (opened.body as { id: string }).id;
    const again = await call('POST', '/conversations', tokens['dr.b']!, { patientId });
    expect(again.status).toBe(200);
    expect((again.body as { id: string }).id).toBe(conversationId);

    const sent = await sendText(tokens['dr.a']!, SECRET_TEXT, { priority: 'normal' });
    const read = await call('GET', `/conversations/${conversationId}/messages`, tokens['dr.b']!);
    expect(read.status).toBe(200);
    const messages = (read.body as { messages: { id: number; body: string; sender: string }[] }).messages;
    expect(messages.map((m) => [m.id, m.sender, m.body])).toEqual([[sent.id, 'dr.a', SECRET_TEXT]]);
    const reply = await sendText(tokens['dr.b']!, 'Looking now.');
    expect(reply.id).toBeGreaterThan(sent.id);

    const reads = hub.pki.store.audit
      .list({ action: 'phi.read' })
      .filter(
        (e) => e.actor === 'user:dr.b' && e.outcome === 'success' && e.details?.what === 'conversation',
      );
    expect(reads.length).toBeGreaterThan(0);
    expect(reads[0]!.target).toBe(`patient:${patientId}`);
    const list = await call('GET', '/conversations', tokens['dr.b']!);
    expect((list.body as { conversations: { id: string; unread: number }[] }).conversations).toEqual([
      expect.objectContaining({ id: conversationId, unread: 1 }),
    ]);
  });

  it('the receipts say delivered, then read', async () => {
    const read = await call('POST', `/conversations/${conversationId}/read`, tokens['dr.b']!, {
      upTo: 1_000_000,
    });
    expect(read.status).toBe(200);
    const messages = (
      (await call('GET', `/conversations/${conversationId}/messages`, tokens['dr.a']!)).body as {
        messages: { sender: string; receipts: { username: string; deliveredAt: string; readAt: string }[] }[];
      }
    ).messages;
    const first = messages.find((m) => m.sender === 'dr.a')!;
    expect(first.receipts).toEqual([
      { username: 'dr.b', deliveredAt: expect.any(String), readAt: expect.any(String) },
    ]);
  });

  it('refuses a clinician of another patient, an auditor, a non-member and a source outside the PHI networks, audited, showing nothing', async () => {
    const path = `/conversations/${conversationId}/messages`;
    const other = await call('GET', path, tokens['dr.other']!);
    expect(other.status).toBe(403);
    expect((other.body as { error: { code: string } }).error.code).toBe('PATIENT_NOT_ACCESSIBLE');
    const auditor = await call('GET', path, tokens.auditor!);
    expect(auditor.status).toBe(403);
    expect((auditor.body as { error: { code: string } }).error.code).toBe('PHI_NOT_PERMITTED');

    // Break-glass passes the PHI gate, but does not make a member.
    hub.api.apiContext.breakGlass.grant(
      'dr.glass',
      patientId,
      'covering the ward tonight, patient deteriorating',
      '127.0.0.1',
    );
    const nonMember = await call('GET', path, tokens['dr.glass']!);
    expect(nonMember.status).toBe(403);
    expect((nonMember.body as { error: { code: string } }).error.code).toBe('CONVERSATION_NOT_MEMBER');
    const nonMemberSend = await call('POST', path, tokens['dr.glass']!, { body: 'let me in' });
    expect(nonMemberSend.status).toBe(403);
    // Nor does opening the patient's conversation let a break-glass holder join it.
    const selfJoin = await call('POST', '/conversations', tokens['dr.glass']!, { patientId });
    expect([selfJoin.status, (selfJoin.body as { error: { code: string } }).error.code]).toEqual([
      403,
      'CONVERSATION_NOT_MEMBER',
    ]);

    const outside = await hub.extraServer({ phiNetworks: { clinician: ['10.0.0.0/8'] } });
    const network = await outside.client.request('GET', `/api/v1${path}`, { token: tokens['dr.b']! });
    expect(network.status).toBe(403);
    expect((network.body as { error: { code: string } }).error.code).toBe('PHI_NETWORK_REFUSED');

    for (const r of [other, auditor, nonMember, nonMemberSend, selfJoin, network]) {
      expect(Object.keys(r.body as object)).toEqual(['error']);
      expect(r.text).not.toContain(SECRET_TEXT);
      expect(r.text).not.toMatch(/"(count|unread|messages)"/);
    }
    for (const name of ['dr.other', 'dr.glass']) {
      const list = await call('GET', '/conversations', tokens[name]!);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ conversations: [] });
    }
    const denied = hub.pki.store.audit
      .list({ action: 'phi.read' })
      .filter((e) => e.outcome === 'denied')
      .map((e) => [e.actor, e.details?.code]);
    expect(denied).toEqual(
      expect.arrayContaining([
        ['user:dr.other', 'PATIENT_NOT_ACCESSIBLE'],
        ['user:auditor.msg', 'PHI_NOT_PERMITTED'],
        ['user:dr.glass', 'CONVERSATION_NOT_MEMBER'],
        ['user:dr.b', 'PHI_NETWORK_REFUSED'],
      ]),
    );
    // Nothing was stored by the refused send.
    expect(hub.pki.store.audit.list({ action: 'message.send' }).map((e) => e.actor)).not.toContain(
      'user:dr.glass',
    );
  });

  it('a member adds a clinician who may read the patient, and nobody else', async () => {
    const path = `/conversations/${conversationId}/members`;
    const refused = await call('POST', path, tokens['dr.a']!, { username: 'dr.other' });
    expect([refused.status, (refused.body as { error: { code: string } }).error.code]).toEqual([
      400,
      'MEMBER_INVALID',
    ]);
    expect((await call('POST', path, tokens['dr.a']!, { username: 'auditor.msg' })).status).toBe(400);
    expect((await call('POST', path, tokens['dr.glass']!, { username: 'dr.glass' })).status).toBe(403);
    const added = await call('POST', path, tokens['dr.a']!, { username: 'dr.glass' });
    expect(added.status, added.text).toBe(200);
    expect((added.body as { members: string[] }).members).toContain('dr.glass');
    expect((await call('GET', `/conversations/${conversationId}/messages`, tokens['dr.glass']!)).status).toBe(
      200,
    );
    const read = hub.pki.store.audit
      .list({ action: 'phi.read' })
      .find(
        (e) => e.actor === 'user:dr.glass' && e.outcome === 'success' && e.details?.what === 'conversation',
      );
    expect(read?.target).toBe(`patient:${patientId}`);
  });

  it('every messaging route is in the OpenAPI document', async () => {
    const docs = (await hub.client.request('GET', '/docs/json')).body as { paths: Record<string, object> };
    const paths = Object.keys(docs.paths).filter((p) => p.startsWith('/api/v1/conversations'));
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/conversations',
        '/api/v1/conversations/discuss',
        '/api/v1/conversations/stream',
        '/api/v1/conversations/{conversationId}',
        '/api/v1/conversations/{conversationId}/messages',
        '/api/v1/conversations/{conversationId}/messages/{messageId}',
        '/api/v1/conversations/{conversationId}/read',
        '/api/v1/conversations/{conversationId}/members',
        '/api/v1/conversations/{conversationId}/lifespan',
        '/api/v1/conversations/{conversationId}/filings/preview',
        '/api/v1/conversations/{conversationId}/filings',
      ]),
    );
  });

  it('bad input gets a coded error and stores nothing', async () => {
    const before = messaging().conversations.messages.count(conversationId);
    const cases: [unknown, string][] = [
      [{ body: '' }, 'MESSAGE_INVALID'],
      [{ body: 'x'.repeat(2001) }, 'MESSAGE_INVALID'],
      [{ body: 'bell \u0007' }, 'MESSAGE_INVALID'],
      [{ body: 'hi', priority: 'panic' }, 'VALIDATION_FAILED'],
      [{ body: 'hi', ref: { kind: 'alert', alertId: 999999 } }, 'MESSAGE_INVALID'],
      [{ body: 'hi', extra: 1 }, 'UNKNOWN_FIELD'],
    ];
    for (const [body, code] of cases) {
      const r = await call('POST', `/conversations/${conversationId}/messages`, tokens['dr.a']!, body);
      expect([r.status, (r.body as { error: { code: string } }).error.code], JSON.stringify(body)).toEqual([
        400,
        code,
      ]);
    }
    expect((await call('GET', '/conversations/cnv_nope/messages', tokens['dr.a']!)).status).toBe(400);
    expect((await call('GET', '/conversations/cnv_AAAAAAAAAAAAAAAA/messages', tokens['dr.a']!)).status).toBe(
      404,
    );
    expect(messaging().conversations.messages.count(conversationId)).toBe(before);
  });

  it('keeps no message text in clear in the SQLite file or its WAL', async () => {
    const bytes = dbBytes();
    expect(bytes.includes(Buffer.from('zebra-7431'))).toBe(false);
    expect(bytes.includes(Buffer.from('Looking now.'))).toBe(false);
    expect(JSON.stringify(hub.pki.store.audit.list({}))).not.toContain('zebra-7431');
  });

  it('streams PHI-free notices live to the other members', async () => {
    const stream = hub.client.stream('/api/v1/conversations/stream', tokens['dr.b']!);
    await stream.opened;
    expect(stream.status).toBe(200);
    const sent = await sendText(tokens['dr.a']!, 'urgent: call me about the pump', { priority: 'urgent' });
    await waitFor(() => stream.events.some((e) => e.event === 'message'));
    const notice = stream.events.find((e) => e.event === 'message')!.data as Record<string, unknown>;
    expect(notice).toMatchObject({
      conversationId,
      messageId: sent.id,
      priority: 'urgent',
      notice: 'New urgent message about a patient',
    });
    expect(JSON.stringify(stream.events)).not.toMatch(/pump|Grace|pat_/);

    // Unread past the escalation time: the next member of the care team is notified, once.
    expect(messaging().escalation.tick()).toEqual([]);
    hub.clock.advance(11 * 60_000);
    const notices = messaging().escalation.tick();
    expect(notices).toEqual([{ conversationId, messageId: sent.id, to: ['dr.b'] }]);
    expect(messaging().escalation.tick()).toEqual([]);
    await waitFor(() => stream.events.some((e) => e.event === 'escalation'));
    expect(hub.pki.store.securityEvents.list({ kind: 'urgent_message_unread' })).toHaveLength(1);
    stream.close();
  });

  it('the sender recalls a message for every member; nobody else can', async () => {
    const sent = await sendText(tokens['dr.a']!, 'wrong patient, sorry: quokka-55');
    const refused = await call(
      'DELETE',
      `/conversations/${conversationId}/messages/${sent.id}`,
      tokens['dr.b']!,
    );
    expect(refused.status).toBe(403);
    expect(messaging().conversations.messages.get(sent.id)).toBeDefined();
    const recalled = await call(
      'DELETE',
      `/conversations/${conversationId}/messages/${sent.id}`,
      tokens['dr.a']!,
    );
    expect(recalled.status).toBe(204);
    const seen = (
      (await call('GET', `/conversations/${conversationId}/messages`, tokens['dr.b']!)).body as {
        messages: { id: number }[];
      }
    ).messages.map((m) => m.id);
    expect(seen).not.toContain(sent.id);
    expect(messaging().conversations.messages.get(sent.id)).toBeUndefined();
    const entry = hub.pki.store.audit.list({ action: 'message.recall' })[0]!;
    expect(entry.details).toMatchObject({ messageId: sent.id });
    expect(JSON.stringify(entry)).not.toContain('quokka');
  });
});

describe('retention', () => {
  it('an admin shortens the lifespan; a message past it is destroyed, and a backup taken afterwards does not hold it', async () => {
    const sent = await sendText(tokens['dr.a']!, 'short-lived note wombat-99');
    const sealed = messaging().conversations.messages.get(sent.id)!;
    expect(dbBytes().includes(sealed.sealedContent)).toBe(true);

    const bad = await call('PUT', `/conversations/${conversationId}/lifespan`, tokens.admin!, {
      hours: 24 * 31,
    });
    expect((bad.body as { error: { code: string } }).error.code).toBe('LIFESPAN_INVALID');
    expect(
      (await call('PUT', `/conversations/${conversationId}/lifespan`, tokens['dr.a']!, { hours: 1 })).status,
    ).toBe(403);
    const set = await call('PUT', `/conversations/${conversationId}/lifespan`, tokens.admin!, { hours: 1 });
    expect(set.status, set.text).toBe(200);
    expect(messaging().conversations.messages.get(sent.id)).toBeDefined();

    await advance(2 * HOUR);
    const swept = messaging().retention.sweep();
    expect(swept.messagesDestroyed).toBeGreaterThan(0);
    expect(messaging().conversations.messages.count(conversationId)).toBe(0);
    const bytes = dbBytes();
    expect(bytes.includes(sealed.sealedContent)).toBe(false);
    expect(bytes.includes(sealed.sealedKey)).toBe(false);
    expect(hub.pki.store.audit.list({ action: 'message.expire' }).length).toBeGreaterThan(0);

    const dir = mkdtempSync(join(tmpdir(), 'vg-msg-backup-'));
    try {
      const copy = join(dir, 'control-plane.sqlite');
      await copyControlPlane(hub.pki.store.db, copy);
      const backup = readFileSync(copy);
      expect(backup.includes(sealed.sealedContent)).toBe(false);
      expect(backup.includes(sealed.sealedKey)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a direct conversation loses its key when its lifespan is over', async () => {
    const opened = await call('POST', '/conversations', tokens['dr.direct']!, { members: ['dr.a'] });
    expect(opened.status, opened.text).toBe(201);
    const id = (opened.body as { id: string }).id;
    const r = await call('POST', `/conversations/${id}/messages`, tokens['dr.direct']!, { body: 'coffee?' });
    expect(r.status).toBe(201);
    expect(hub.pki.keyring.isShredded(`conversation:${id}`)).toBe(false);
    await advance(31 * 24 * HOUR);
    const swept = messaging().retention.sweep();
    expect(swept.keysDestroyed).toBeGreaterThanOrEqual(1);
    expect(hub.pki.keyring.isShredded(`conversation:${id}`)).toBe(true);
    expect((await call('GET', `/conversations/${id}/messages`, tokens['dr.a']!)).body).toEqual({
      messages: [],
    });
    expect(
      (await call('POST', `/conversations/${id}/messages`, tokens['dr.a']!, { body: 'hi' })).status,
    ).toBe(410);
  });
});

describe('file to chart', () => {
  it("files the excerpt the clinician confirmed as a Communication in the patient's FHIR export", async () => {
    const first = await sendText(tokens['dr.a']!, 'Desaturation at 03:10, now 94 % on 2 L.', {
      priority: 'urgent',
    });
    const second = await sendText(tokens['dr.b']!, 'Agreed, keep on 2 L and recheck at 06:00.');
    const ids = [first.id, second.id];
    const preview = await call('POST', `/conversations/${conversationId}/filings/preview`, tokens['dr.b']!, {
      messageIds: ids,
    });
    expect(preview.status, preview.text).toBe(200);
    const excerpt = preview.body as { digest: string; messages: { id: number; body: string }[] };
    expect(excerpt.messages.map((m) => m.id)).toEqual(ids);

    // A confirmation of something else files nothing.
    const wrong = await call('POST', `/conversations/${conversationId}/filings`, tokens['dr.b']!, {
      messageIds: [first.id],
      confirm: excerpt.digest,
    });
    expect((wrong.body as { error: { code: string } }).error.code).toBe('CONFIRMATION_MISMATCH');
    expect(messaging().filing.filed.ofPatient(patientId)).toEqual([]);

    const filed = await call('POST', `/conversations/${conversationId}/filings`, tokens['dr.b']!, {
      messageIds: ids,
      confirm: excerpt.digest,
    });
    expect(filed.status, filed.text).toBe(201);
    const filedId = (filed.body as { id: string }).id;
    expect(hub.pki.store.audit.list({ action: 'message.file' })[0]!.details).toMatchObject({
      filedId,
      messageIds: ids,
    });
    expect(dbBytes().includes(Buffer.from('recheck at 06:00'))).toBe(false);

    const now = hub.clock.now();
    const everything = await hub.client.request(
      'GET',
      `/fhir/R4/Patient/${fhirPatientId(patientId)}/$everything?start=${new Date(now - HOUR).toISOString()}&end=${new Date(now).toISOString()}`,
      { token: tokens['dr.b']!, headers: { accept: 'application/fhir+json' } },
    );
    expect(everything.status, everything.text).toBe(200);
    const bundle = everything.body as { entry: { resource: Record<string, unknown> }[] };
    const validBundle = fhirValidator('Bundle');
    expect(validBundle(bundle), JSON.stringify(validBundle.errors)).toBe(true);
    const communication = bundle.entry
      .map((e) => e.resource)
      .find((r) => r.resourceType === 'Communication')!;
    const valid = fhirValidator('Communication');
    expect(valid(communication), JSON.stringify(valid.errors)).toBe(true);
    expect(communication).toMatchObject({
      id: filedId,
      status: 'completed',
      priority: 'urgent',
      subject: { reference: `Patient/${fhirPatientId(patientId)}` },
      sent: new Date((first as unknown as { sentAt: string }).sentAt).toISOString(),
    });
    expect((communication.payload as { contentString: string }[]).map((p) => p.contentString)).toEqual([
      expect.stringContaining('Desaturation at 03:10'),
      expect.stringContaining('recheck at 06:00'),
    ]);

    // Kept with the record: the messages' lifespan does not take it.
    await advance(2 * HOUR);
    messaging().retention.sweep();
    expect(messaging().conversations.messages.get(first.id)).toBeUndefined();
    expect(
      messaging()
        .filing.ofPatient(patientId)
        .map((f) => f.id),
    ).toEqual([filedId]);
  });
});

describe('erasure', () => {
  it('erasing the patient makes the conversation unreadable', async () => {
    const sent = await sendText(tokens['dr.a']!, 'before erasure');
    const stored = messaging().conversations.messages.get(sent.id)!;
    hub.api.apiContext.erasure.erase({ patientId, confirm: patientId, reason: 'patient request' }, 'test');
    const c = messaging().conversations.require(conversationId);
    expect(() => messaging().sealer.open(c, stored)).toThrow(/destroyed/);
    const r = await call('GET', `/conversations/${conversationId}/messages`, tokens['dr.a']!);
    expect(r.status).toBe(410);
    expect(r.text).not.toContain('before erasure');
  });
});
