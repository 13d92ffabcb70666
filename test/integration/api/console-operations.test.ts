// The API routes the operator, auditor and admin pages of the console read: the role table, the
// break-glass grants with their reviews, older pages of the audit log, and the device list with
// what the broker knows of each device. Refusals change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPatient } from '../../support/ingest.js';
import { enrolledUser, startTestHub, stepUp, type TestHub } from './harness.js';

let hub: TestHub;
let admin: { token: string };
let auditor: { token: string };
let engineer: { token: string };
let dr: { token: string; secret: string };
let patient: string;

beforeAll(async () => {
  hub = await startTestHub();
  admin = await enrolledUser(hub, 'adm.ops', 'admin');
  auditor = await enrolledUser(hub, 'aud.ops', 'auditor');
  engineer = await enrolledUser(hub, 'eng.ops', 'engineer');
  dr = await enrolledUser(hub, 'dr.ops', 'clinician');
  patient = addPatient(hub.pki, 'Glass Patient');
}, 60_000);
afterAll(async () => hub?.close());

const get = (path: string, token: string) => hub.client.request('GET', `/api/v1${path}`, { token });
const post = (path: string, token: string, body: unknown) =>
  hub.client.request('POST', `/api/v1${path}`, { token, body });

describe('GET /roles', () => {
  it('lists each role with the API’s permissions and who holds it, to admins only', async () => {
    const res = await get('/roles', admin.token);
    expect(res.status, res.text).toBe(200);
    const roles = res.body as { role: string; permissions: string[]; users: string[] }[];
    expect(roles.map((r) => r.role)).toEqual(['admin', 'clinician', 'engineer', 'auditor']);
    expect(roles.find((r) => r.role === 'clinician')).toEqual({
      role: 'clinician',
      permissions: ['phi.read', 'self'],
      users: ['dr.ops'],
    });
    expect(roles.find((r) => r.role === 'auditor')?.users).toEqual(['aud.ops']);
    for (const token of [auditor.token, engineer.token, dr.token]) {
      const refused = await get('/roles', token);
      expect(refused.status).toBe(403);
      expect(refused.text).not.toContain('dr.ops');
    }
  });
});

describe('break-glass grants and reviews', () => {
  it('lists a grant with its reason and no review, records a review once asked, and shows it', async () => {
    await stepUp(hub, dr); // break-glass asks for a fresh second factor
    const granted = await post(`/patients/${patient}/break-glass`, dr.token, {
      reason: 'patient collapsed in the corridor, no assigned clinician on the ward',
    });
    expect(granted.status, granted.text).toBe(201);
    const grantId = (granted.body as { grantId: number }).grantId;

    const list = await get('/break-glass/grants', auditor.token);
    expect(list.status, list.text).toBe(200);
    expect(list.body).toEqual([
      expect.objectContaining({
        id: grantId,
        username: 'dr.ops',
        patientId: patient,
        reason: 'patient collapsed in the corridor, no assigned clinician on the ward',
        state: 'active',
        review: null,
      }),
    ]);

    const reviewed = await post(`/break-glass/grants/${grantId}/review`, auditor.token, {
      note: 'checked with the ward sister: justified',
    });
    expect(reviewed.status, reviewed.text).toBe(201);
    expect((reviewed.body as { review: unknown }).review).toEqual({
      at: expect.any(String),
      by: 'user:aud.ops',
      note: 'checked with the ward sister: justified',
    });
    expect(hub.pki.store.audit.list({ action: 'break_glass.review' })).toEqual([
      expect.objectContaining({
        actor: 'user:aud.ops',
        target: `break-glass:${grantId}`,
        outcome: 'success',
      }),
    ]);
    const again = (await get('/break-glass/grants', auditor.token)).body as { review: unknown }[];
    expect(again[0]?.review).toMatchObject({ by: 'user:aud.ops' });
  });

  it('refuses other roles, unknown grants and empty notes, and records no review', async () => {
    const before = hub.pki.store.audit.list({ action: 'break_glass.review' }).length;
    for (const token of [admin.token, engineer.token, dr.token]) {
      expect((await get('/break-glass/grants', token)).status).toBe(403);
      expect((await post('/break-glass/grants/1/review', token, { note: 'looks fine to me' })).status).toBe(
        403,
      );
    }
    const unknown = await post('/break-glass/grants/999999/review', auditor.token, { note: 'no such grant' });
    expect(unknown.status).toBe(404);
    const empty = await post('/break-glass/grants/1/review', auditor.token, { note: ' ' });
    expect(empty.status).toBe(400);
    const bad = await post('/break-glass/grants/abc/review', auditor.token, { note: 'not a number' });
    expect(bad.status).toBe(400);
    expect(hub.pki.store.audit.list({ action: 'break_glass.review' })).toHaveLength(before);
  });
});

describe('GET /audit?beforeSeq', () => {
  it('pages to older entries, newest first, without overlap', async () => {
    const first = (await get('/audit?limit=3', auditor.token)).body as { seq: number }[];
    expect(first).toHaveLength(3);
    const oldest = first[2]!.seq;
    const next = (await get(`/audit?limit=3&beforeSeq=${oldest}`, auditor.token)).body as { seq: number }[];
    expect(next.map((e) => e.seq)).toEqual([oldest - 1, oldest - 2, oldest - 3]);
    expect((await get('/audit?beforeSeq=x', auditor.token)).status).toBe(400);
  });
});

describe('GET /devices', () => {
  it('adds the certificate expiry and what the broker knows (null without it)', async () => {
    hub.pki.store.devices.add({ id: 'ops-wear-1', kind: 'wearable', patientId: patient });
    const plain = (await get('/devices', engineer.token)).body as Record<string, unknown>[];
    expect(plain.find((d) => d.id === 'ops-wear-1')).toMatchObject({
      status: 'pending',
      certificateExpiresAt: null,
      connected: null,
      lastSeen: null,
      lastAddress: null,
    });
    const withBroker = await hub.extraServer({
      deviceActivity: {
        activityOf: (id) => ({
          connected: hub.broker.isConnected(id),
          lastSeen: id === 'ops-wear-1' ? Date.parse('2026-01-02T03:04:05Z') : null,
          lastSourceAddress: id === 'ops-wear-1' ? '10.1.2.3' : null,
        }),
      },
    });
    const res = await withBroker.client.request('GET', '/api/v1/devices', { token: engineer.token });
    expect((res.body as Record<string, unknown>[]).find((d) => d.id === 'ops-wear-1')).toMatchObject({
      connected: false,
      lastSeen: '2026-01-02T03:04:05.000Z',
      lastAddress: '10.1.2.3',
    });
  });
});
