// What the API refuses, over real HTTPS: each refusal has the right status and the SPEC §6 error
// shape, returns no data, and leaves an audit entry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPatient } from '../../support/ingest.js';
import {
  enrolledUser,
  login,
  startTestHub,
  stepUp,
  STRONG_PASSWORD,
  totpCode,
  type HttpResult,
  type TestHub,
} from './harness.js';

let hub: TestHub;
let mine: string;
let theirs: string;
let dr: { username: string; secret: string; token: string };

beforeAll(async () => {
  hub = await startTestHub();
  mine = addPatient(hub.pki, 'Grace Hopper');
  theirs = addPatient(hub.pki, 'Alan Turing');
  dr = await enrolledUser(hub, 'dr.ref', 'clinician');
  hub.pki.store.patients.assign(mine, 'dr.ref');
}, 60_000);

afterAll(async () => hub?.close());

function lastAudit(action: string) {
  return hub.pki.store.audit.list({ action, limit: 1 })[0];
}

function expectError(res: HttpResult, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.body).toMatchObject({ error: { code, message: expect.any(String) } });
  expect(Object.keys(res.body as object)).toEqual(['error']);
  expect(res.text).not.toMatch(/Grace|Hopper|Alan|Turing|at .*\.ts:\d+/);
}

describe('PHI access', () => {
  it('a clinician reading an unassigned patient gets 403, unless break-glass is active', async () => {
    const res = await hub.client.request('GET', `/api/v1/patients/${theirs}/telemetry`, { token: dr.token });
    expectError(res, 403, 'PATIENT_NOT_ACCESSIBLE');
    expect(lastAudit('phi.read')).toMatchObject({
      actor: 'user:dr.ref',
      target: `patient:${theirs}`,
      outcome: 'denied',
      source: '127.0.0.1',
      details: { what: 'telemetry', code: 'PATIENT_NOT_ACCESSIBLE' },
    });
    const short = await hub.client.request('POST', `/api/v1/patients/${theirs}/break-glass`, {
      token: dr.token,
      body: { reason: 'urgent' },
    });
    expectError(short, 400, 'VALIDATION_FAILED');
    await stepUp(hub, dr); // break-glass needs a fresh second factor (test/integration/api/step-up.test.ts)
    const glass = await hub.client.request('POST', `/api/v1/patients/${theirs}/break-glass`, {
      token: dr.token,
      body: { reason: 'patient collapsed in the ward, covering clinician unreachable' },
    });
    expect(glass.status).toBe(201);
    expect(lastAudit('phi.break_glass')).toMatchObject({ actor: 'user:dr.ref', target: `patient:${theirs}` });
    expect(hub.pki.store.securityEvents.list({ kind: 'break_glass' })[0]).toMatchObject({
      severity: 'high',
      username: 'dr.ref',
    });
    const now = await hub.client.request('GET', `/api/v1/patients/${theirs}`, { token: dr.token });
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({ name: 'Alan Turing', access: 'break_glass' });
    // The grant is time-limited.
    hub.clock.advance(61 * 60_000);
    const fresh = await login(hub, dr);
    dr.token = fresh;
    const after = await hub.client.request('GET', `/api/v1/patients/${theirs}`, { token: fresh });
    expectError(after, 403, 'PATIENT_NOT_ACCESSIBLE');
  });

  it('an engineer or an admin reading PHI gets 403 and an audit entry', async () => {
    const eng = await enrolledUser(hub, 'eng.ref', 'engineer');
    const adm = await enrolledUser(hub, 'adm.ref', 'admin');
    for (const [who, token] of [
      ['eng.ref', eng.token],
      ['adm.ref', adm.token],
    ] as const) {
      for (const path of ['telemetry', 'observations', 'live']) {
        const res = await hub.client.request('GET', `/api/v1/patients/${mine}/${path}`, { token });
        expectError(res, 403, 'PHI_NOT_PERMITTED');
        expect(lastAudit('phi.read')).toMatchObject({
          actor: `user:${who}`,
          target: `patient:${mine}`,
          outcome: 'denied',
          details: { what: path, code: 'PHI_NOT_PERMITTED' },
        });
      }
    }
    // The admin's patient list has no demographics.
    const list = await hub.client.request('GET', '/api/v1/patients', { token: adm.token });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain('Grace');
    // And an engineer cannot manage users.
    expectError(await hub.client.request('GET', '/api/v1/users', { token: eng.token }), 403, 'FORBIDDEN');
    expect(lastAudit('api.access')).toMatchObject({ actor: 'user:eng.ref', outcome: 'denied' });
  });

  it('PHI from outside the allowed networks is refused, audited and counted', async () => {
    const elsewhere = await hub.extraServer({ phiNetworks: { clinician: ['192.0.2.0/24'] } });
    const res = await elsewhere.client.request('GET', `/api/v1/patients/${mine}/telemetry`, {
      token: dr.token,
    });
    expectError(res, 403, 'PHI_NETWORK_REFUSED');
    expect(lastAudit('phi.read')).toMatchObject({
      actor: 'user:dr.ref',
      outcome: 'denied',
      details: { code: 'PHI_NETWORK_REFUSED' },
    });
    expect(hub.pki.store.securityEvents.list({ kind: 'phi_network_refused' })).toHaveLength(1);
    const metrics = await hub.client.request('GET', '/metrics');
    expect(metrics.status).toBe(200);
    // The extra server has its own registry; the refusal shows there, labelled by reason only.
    await elsewhere.close();
  });
});

describe('sessions and login', () => {
  it('a session past its idle timeout is refused and ended', async () => {
    const token = await login(hub, dr);
    expect((await hub.client.request('GET', '/api/v1/auth/session', { token })).status).toBe(200);
    hub.clock.advance(16 * 60_000);
    const res = await hub.client.request('GET', `/api/v1/patients/${mine}/telemetry`, { token });
    expectError(res, 401, 'SESSION_EXPIRED');
    expect(lastAudit('auth.session.end')).toMatchObject({ details: { reason: 'idle_timeout' } });
    expect(lastAudit('auth.session')).toMatchObject({
      outcome: 'denied',
      details: { code: 'SESSION_EXPIRED' },
    });
    expectError(await hub.client.request('GET', '/api/v1/auth/session', { token }), 401, 'UNAUTHENTICATED');
  });

  it('a TOTP code cannot be used twice', async () => {
    hub.clock.advance(30_000);
    const code = totpCode(hub, dr.secret);
    const first = await hub.client.request('POST', '/api/v1/auth/login', {
      body: { username: 'dr.ref', password: STRONG_PASSWORD },
    });
    const ok = await hub.client.request('POST', '/api/v1/auth/mfa', {
      body: { challengeId: (first.body as { challengeId: string }).challengeId, code },
    });
    expect(ok.status).toBe(200);
    const second = await hub.client.request('POST', '/api/v1/auth/login', {
      body: { username: 'dr.ref', password: STRONG_PASSWORD },
    });
    const reused = await hub.client.request('POST', '/api/v1/auth/mfa', {
      body: { challengeId: (second.body as { challengeId: string }).challengeId, code },
    });
    expectError(reused, 401, 'MFA_CODE_REUSED');
    expect(reused.text).not.toContain('token');
    expect(lastAudit('auth.mfa')).toMatchObject({ outcome: 'denied', details: { cause: 'code_reused' } });
  });

  it('brute force hits the lockout, which then refuses even the right password', async () => {
    const victim = await enrolledUser(hub, 'dr.brute', 'clinician');
    const threshold = hub.deps.config.lockoutThreshold;
    for (let i = 0; i < threshold; i++) {
      const res = await hub.client.request('POST', '/api/v1/auth/login', {
        body: { username: 'dr.brute', password: `wrong-guess-${i}` },
      });
      expectError(res, 401, 'INVALID_CREDENTIALS');
    }
    const locked = await hub.client.request('POST', '/api/v1/auth/login', {
      body: { username: 'dr.brute', password: STRONG_PASSWORD },
    });
    expectError(locked, 423, 'ACCOUNT_LOCKED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(lastAudit('auth.lockout')).toMatchObject({ target: 'user:dr.brute' });
    expect(lastAudit('auth.login')).toMatchObject({ outcome: 'denied', details: { code: 'ACCOUNT_LOCKED' } });
    expect(hub.pki.store.securityEvents.list({ kind: 'account_locked' })[0]).toMatchObject({
      username: 'dr.brute',
    });
    // Each further failure doubles the lock.
    hub.clock.advance((hub.deps.config.lockoutMinutes + 1) * 60_000);
    await hub.client.request('POST', '/api/v1/auth/login', {
      body: { username: 'dr.brute', password: 'nope-nope-nope' },
    });
    const until = hub.pki.store.loginThrottle.get('dr.brute', '127.0.0.1')!.blockedUntil!;
    expect(until - hub.clock.now()).toBeGreaterThan(hub.deps.config.lockoutMinutes * 60_000 * 1.9);
    void victim;
  });
});

describe('hostile input', () => {
  beforeAll(async () => {
    dr.token = await login(hub, dr); // the session tests above let the clock run past its idle timeout
  });

  const INJECTIONS = [
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    "x' or s=~/.*/ --",
    '$(reboot)',
    '%00',
  ];

  it('injection strings in every id and query parameter are refused with 400 and audited', async () => {
    const adm = await enrolledUser(hub, 'adm.inj', 'admin');
    const aud = await enrolledUser(hub, 'aud.inj', 'auditor');
    const before = hub.pki.store.audit.list({ action: 'api.request.rejected', limit: 1000 }).length;
    let n = 0;
    for (const raw of INJECTIONS) {
      const bad = encodeURIComponent(raw);
      const cases: [string, string][] = [
        [dr.token, `/api/v1/patients/${bad}/telemetry`],
        [dr.token, `/api/v1/patients/${bad}/observations`],
        [dr.token, `/api/v1/patients/${mine}/telemetry?type=${bad}`],
        [dr.token, `/api/v1/patients/${mine}/telemetry?from=${bad}`],
        [dr.token, `/api/v1/patients/${mine}/telemetry?to=${bad}`],
        [dr.token, `/api/v1/patients/${mine}/telemetry?resolution=${bad}`],
        [dr.token, `/api/v1/patients/${mine}/telemetry?limit=${bad}`],
        [dr.token, `/api/v1/patients/${mine}/observations?_count=${bad}`],
        [dr.token, `/api/v1/alerts?patientId=${bad}`],
        [dr.token, `/api/v1/alerts?status=${bad}`],
        [adm.token, `/api/v1/devices/${bad}`],
        [adm.token, `/api/v1/devices?status=${bad}`],
        [adm.token, `/api/v1/users/${bad}`],
        [adm.token, `/api/v1/patients/${bad}/assignments`],
        [aud.token, `/api/v1/audit?actor=${bad}`],
        [aud.token, `/api/v1/audit?from=${bad}`],
        [aud.token, `/api/v1/security/events?kind=${bad}`],
      ];
      for (const [token, path] of cases) {
        const res = await hub.client.request('GET', path, { token });
        expect([400, 404], `${path} → ${res.status}`).toContain(res.status);
        if (res.status === 400) {
          expect((res.body as { error: { code: string } }).error.code).toMatch(
            /^(VALIDATION_FAILED|UNKNOWN_FIELD)$/,
          );
          n += 1;
        }
        expect(res.text).not.toContain('Grace');
        expect(res.text).not.toContain(raw);
      }
      const post = await hub.client.request('POST', '/api/v1/auth/login', {
        body: { username: raw, password: raw },
      });
      expectError(post, 400, 'VALIDATION_FAILED');
      n += 1;
    }
    const after = hub.pki.store.audit.list({ action: 'api.request.rejected', limit: 1000 }).length;
    expect(after - before).toBe(n);
    expect(hub.pki.store.users.list().every((u) => !u.username.includes("'"))).toBe(true);
  });

  it('oversized bodies get 413 and an audit entry', async () => {
    const res = await hub.client.request('POST', '/api/v1/auth/login', {
      body: { username: 'dr.ref', password: 'x'.repeat(100_000) },
    });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(lastAudit('api.request.rejected')).toMatchObject({
      outcome: 'denied',
      details: { code: 'PAYLOAD_TOO_LARGE' },
    });
  });

  it('unknown fields get 400 and an audit entry', async () => {
    const res = await hub.client.request('POST', `/api/v1/patients/${mine}/break-glass`, {
      token: dr.token,
      body: { reason: 'a perfectly good reason here', role: 'admin' },
    });
    expectError(res, 400, 'UNKNOWN_FIELD');
    expect(lastAudit('api.request.rejected')).toMatchObject({
      actor: 'user:dr.ref',
      details: { code: 'UNKNOWN_FIELD' },
    });
    const q = await hub.client.request('GET', `/api/v1/patients/${mine}/telemetry?debug=1`, {
      token: dr.token,
    });
    expectError(q, 400, 'UNKNOWN_FIELD');
  });

  it('no credentials, no route, no stack traces', async () => {
    expectError(
      await hub.client.request('GET', `/api/v1/patients/${mine}/telemetry`),
      401,
      'UNAUTHENTICATED',
    );
    expectError(await hub.client.request('GET', '/api/v1/nothing-here'), 404, 'ROUTE_NOT_FOUND');
    const garbage = await hub.client.request('POST', '/api/v1/auth/login', {
      rawBody: '{"username":',
      headers: { 'content-type': 'application/json' },
    });
    expectError(garbage, 400, 'BODY_INVALID');
    const ready = await hub.client.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { influxdb: { ready: true } } });
    const metrics = await hub.client.request('GET', '/metrics');
    expect(metrics.text).toContain('vitalgate_api_phi_refusals_total{reason="role"}');
    expect(metrics.text).toContain('vitalgate_api_requests_total');
    expect(metrics.text).not.toMatch(/pat_|dr\.ref|Grace/);
    const docs = await hub.client.request('GET', '/docs/json');
    expect((docs.body as { paths: Record<string, unknown> }).paths).toHaveProperty([
      '/api/v1/patients/{id}/telemetry',
    ]);
    const aud = await enrolledUser(hub, 'aud.ops', 'auditor');
    const events = await hub.client.request('GET', '/api/v1/security/events?kind=break_glass', {
      token: aud.token,
    });
    expect(events.status).toBe(200);
    expect((events.body as unknown[]).length).toBeGreaterThan(0);
    const verify = await hub.client.request('GET', '/api/v1/audit/verify', { token: aud.token });
    expect(verify.body).toMatchObject({ ok: true });
    const healthz = await hub.client.request('GET', '/healthz');
    expect(healthz.headers['strict-transport-security']).toContain('max-age=');
    expect(healthz.headers['x-content-type-options']).toBe('nosniff');
  });
});
