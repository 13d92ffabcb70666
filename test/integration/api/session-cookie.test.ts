// The session as a browser holds it, over real HTTPS: the httpOnly cookie set at MFA works
// instead of the Bearer header, a state-changing request with it from another origin is refused
// (CSRF) and changes nothing, and logout clears the cookie and ends the session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakGlassGrantRepository } from '../../../core/store/break-glass-grants.js';
import { addPatient } from '../../support/ingest.js';
import { enrolledUser, startTestHub, stepUp, STRONG_PASSWORD, totpCode, type TestHub } from './harness.js';

let hub: TestHub;
let mine: string;
let theirs: string;
let dr: { username: string; secret: string };

beforeAll(async () => {
  hub = await startTestHub();
  mine = addPatient(hub.pki, 'Grace Hopper');
  theirs = addPatient(hub.pki, 'Alan Turing');
  dr = await enrolledUser(hub, 'dr.cookie', 'clinician');
  hub.pki.store.patients.assign(mine, 'dr.cookie');
}, 60_000);

afterAll(async () => hub?.close());

/** Logs in and returns the Set-Cookie header of the MFA step and the token in the body. */
async function browserLogin(): Promise<{ setCookie: string; token: string }> {
  hub.clock.advance(30_000); // a new TOTP step
  const step = await hub.client.request('POST', '/api/v1/auth/login', {
    body: { username: dr.username, password: STRONG_PASSWORD },
  });
  const mfa = await hub.client.request('POST', '/api/v1/auth/mfa', {
    body: { challengeId: (step.body as { challengeId: string }).challengeId, code: totpCode(hub, dr.secret) },
  });
  expect(mfa.status, mfa.text).toBe(200);
  // The session cookie, and the staff device cookie of this browser (test/integration/api/staff-devices.test.ts).
  const setCookie = (mfa.headers['set-cookie'] ?? []) as string[];
  expect(setCookie.map((c) => c.split('=')[0])).toEqual(['vg_session', 'vg_device']);
  return { setCookie: setCookie[0]!, token: (mfa.body as { token: string }).token };
}

const withCookie = (value: string, headers: Record<string, string> = {}) => ({
  headers: { cookie: `vg_session=${value}`, ...headers },
});

describe('the session cookie', () => {
  it('is httpOnly, Secure, SameSite=Strict, carries the session token, and opens the API', async () => {
    const { setCookie, token } = await browserLogin();
    const attributes = setCookie.split(';').map((a) => a.trim());
    expect(attributes[0]).toBe(`vg_session=${token}`);
    expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']));
    const maxAge = Number(attributes.find((a) => a.startsWith('Max-Age='))?.slice('Max-Age='.length));
    expect(maxAge).toBeGreaterThan(0);

    const res = await hub.client.request('GET', '/api/v1/patients', withCookie(token));
    expect(res.status, res.text).toBe(200);
    expect(JSON.stringify(res.body)).toContain(mine);
    expect(JSON.stringify(res.body)).not.toContain(theirs);
  });

  it('refuses a state-changing request from another origin (CSRF), and nothing is granted', async () => {
    const { token } = await browserLogin();
    const res = await hub.client.request('POST', `/api/v1/patients/${theirs}/break-glass`, {
      ...withCookie(token, { origin: 'https://attacker.example' }),
      body: { reason: 'patient collapsed in the ward, covering clinician unreachable' },
    });
    expect(res.status, res.text).toBe(403);
    expect(res.body).toEqual({ error: { code: 'CSRF_REJECTED', message: expect.any(String) } });
    expect(hub.pki.store.audit.list({ action: 'api.access', limit: 1 })[0]).toMatchObject({
      actor: 'user:dr.cookie',
      target: 'route:POST /api/v1/patients/:id/break-glass',
      outcome: 'denied',
      details: { code: 'CSRF_REJECTED' },
    });
    expect(hub.pki.store.audit.list({ action: 'phi.break_glass' })).toEqual([]);
    const grants = new BreakGlassGrantRepository(hub.pki.store.db);
    expect(grants.list({ patientId: theirs })).toEqual([]);
    const read = await hub.client.request('GET', `/api/v1/patients/${theirs}`, withCookie(token));
    expect(read.status).toBe(403);

    // The same request from the API's own origin goes through (once the session stepped up).
    await stepUp(hub, { secret: dr.secret, token });
    const port = hub.client.port;
    const same = await hub.client.request('POST', `/api/v1/patients/${theirs}/break-glass`, {
      ...withCookie(token, { origin: `https://127.0.0.1:${port}` }),
      body: { reason: 'patient collapsed in the ward, covering clinician unreachable' },
    });
    expect(same.status, same.text).toBe(201);
    expect(grants.list({ patientId: theirs })).toHaveLength(1);
  });

  it('is cleared by logout, and the session behind it is dead', async () => {
    const { token } = await browserLogin();
    const out = await hub.client.request('POST', '/api/v1/auth/logout', withCookie(token));
    expect(out.status, out.text).toBe(204);
    const cleared = out.headers['set-cookie']?.[0] ?? '';
    expect(cleared).toMatch(/^vg_session=;/);
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
    const after = await hub.client.request('GET', '/api/v1/patients', withCookie(token));
    expect(after.status).toBe(401);
    expect(JSON.stringify(after.body)).not.toContain(mine);
  });
});
