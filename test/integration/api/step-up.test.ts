// Step-up over real HTTPS: each sensitive action (break-glass, wiping or revoking a patient
// device, a raw export longer than a day, account changes, erasing a patient) is refused with
// STEP_UP_REQUIRED until the session gives a fresh second factor, the refusal is audited, and
// nothing is granted or changed; after a step-up with an authenticator code it goes through, and
// the step-up lapses after its max age. Passkey sign-in refuses forged or replayed answers, and a
// role that must use passkeys reaches only its own account until it has one. The passkey
// ceremonies with a real authenticator are in test/e2e/console/passkeys.test.ts (Chromium's
// virtual authenticator); here no authenticator exists, so only refusals are tested.
import otplib from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakGlassGrantRepository } from '../../../core/store/break-glass-grants.js';
import { fhirPatientId } from '../../../fhir/ids.js';
import { addPatient } from '../../support/ingest.js';
import { enrolledUser, startTestHub, stepUp, type HttpResult, type TestHub } from './harness.js';

let hub: TestHub;
let assigned: string;
let other: string;
type User = Awaited<ReturnType<typeof enrolledUser>>;
let dr: User;
let eng: User;
let admin: User;

beforeAll(async () => {
  hub = await startTestHub();
  assigned = addPatient(hub.pki, 'Grace Hopper');
  other = addPatient(hub.pki, 'Alan Turing');
  dr = await enrolledUser(hub, 'dr.step', 'clinician');
  eng = await enrolledUser(hub, 'eng.step', 'engineer');
  admin = await enrolledUser(hub, 'adm.step', 'admin');
  hub.pki.store.patients.assign(assigned, 'dr.step');
}, 60_000);

afterAll(async () => hub?.close());

function expectStepUpRefusal(res: HttpResult, reason: string, route: string, actor: string): void {
  expect(res.status, res.text).toBe(401);
  expect(res.body).toEqual({
    error: { code: 'STEP_UP_REQUIRED', message: expect.any(String), details: { reason, maxAgeSeconds: 300 } },
  });
  expect(hub.pki.store.audit.list({ action: 'auth.step_up.required', limit: 1 })[0]).toMatchObject({
    actor: `user:${actor}`,
    target: `route:${route}`,
    outcome: 'denied',
    details: { reason },
  });
}

describe('sensitive actions without a step-up', () => {
  it('break-glass is refused, audited, and no grant exists', async () => {
    const res = await hub.client.request('POST', `/api/v1/patients/${other}/break-glass`, {
      token: dr.token,
      body: { reason: 'patient collapsed in the ward, covering clinician unreachable' },
    });
    expectStepUpRefusal(res, 'break_glass', 'POST /api/v1/patients/:id/break-glass', 'dr.step');
    expect(new BreakGlassGrantRepository(hub.pki.store.db).list({ patientId: other })).toEqual([]);
    expect(hub.pki.store.audit.list({ action: 'phi.break_glass' })).toEqual([]);
  });

  it('wiping or revoking a patient device is refused and the device stays active', async () => {
    await hub.pki.issueDevice('wear-step', 'wearable');
    for (const action of ['wipe', 'revoke'] as const) {
      const res = await hub.client.request('POST', `/api/v1/devices/wear-step/${action}`, {
        token: eng.token,
        body: { reason: 'reported lost by the patient' },
      });
      expectStepUpRefusal(res, `patient_device_${action}`, `POST /api/v1/devices/:id/${action}`, 'eng.step');
    }
    expect(hub.pki.store.devices.require('wear-step').status).toBe('active');
    expect(hub.pki.store.audit.list({ action: 'device.revoke', target: 'device:wear-step' })).toEqual([]);
  });

  it('a raw telemetry or FHIR read over more than a day is refused; a day or a summary is not', async () => {
    const to = hub.clock.now();
    const from = to - 25 * 3_600_000;
    const raw = await hub.client.request(
      'GET',
      `/api/v1/patients/${assigned}/telemetry?from=${from}&to=${to}`,
      {
        token: dr.token,
      },
    );
    expectStepUpRefusal(raw, 'phi_export', 'GET /api/v1/patients/:id/telemetry', 'dr.step');
    const fhir = await hub.client.request(
      'GET',
      `/api/v1/patients/${assigned}/observations?from=${from}&to=${to}`,
      { token: dr.token },
    );
    expectStepUpRefusal(fhir, 'phi_export', 'GET /api/v1/patients/:id/observations', 'dr.step');
    expect(hub.pki.store.audit.list({ action: 'phi.read', actor: 'user:dr.step' })).toEqual([]);
    // The FHIR server's Observation search spans 31 days unless `date` bounds it.
    const search = await hub.client.request(
      'GET',
      `/fhir/R4/Observation?patient=Patient/${fhirPatientId(assigned)}`,
      { token: dr.token },
    );
    expect(search.status, search.text).toBe(401);
    expect(search.text).toContain('STEP_UP_REQUIRED');
    expect(hub.pki.store.audit.list({ action: 'auth.step_up.required', limit: 1 })[0]).toMatchObject({
      target: 'route:GET /fhir/R4/Observation',
      details: { reason: 'phi_export' },
    });

    const day = await hub.client.request(
      'GET',
      `/api/v1/patients/${assigned}/telemetry?from=${to - 24 * 3_600_000}&to=${to}`,
      { token: dr.token },
    );
    expect(day.status, day.text).toBe(200);
    const buckets = await hub.client.request(
      'GET',
      `/api/v1/patients/${assigned}/telemetry?from=${from}&to=${to}&resolution=1h`,
      { token: dr.token },
    );
    expect(buckets.status, buckets.text).toBe(200);
  });

  it('account changes and erasing a patient are refused and change nothing', async () => {
    const created = await hub.client.request('POST', '/api/v1/users', {
      token: admin.token,
      body: { username: 'new.nurse', role: 'clinician' },
    });
    expectStepUpRefusal(created, 'user_change', 'POST /api/v1/users', 'adm.step');
    expect(hub.pki.store.users.get('new.nurse')).toBeUndefined();

    const disabled = await hub.client.request('POST', '/api/v1/users/dr.step/disable', {
      token: admin.token,
      body: { reason: 'left the trust' },
    });
    expectStepUpRefusal(disabled, 'user_change', 'POST /api/v1/users/:username/disable', 'adm.step');
    expect(hub.pki.store.users.get('dr.step')!.disabledAt).toBeNull();

    const erased = await hub.client.request('POST', `/api/v1/patients/${other}/erase`, {
      token: admin.token,
      body: { reason: 'erasure request', confirm: other },
    });
    expectStepUpRefusal(erased, 'patient_erase', 'POST /api/v1/patients/:id/erase', 'adm.step');
    expect(hub.pki.store.patients.get(other)!.erasedAt).toBeNull();
  });
});

describe('stepping up', () => {
  it('refuses a wrong or reused code (audited) and grants nothing', async () => {
    const wrong = await hub.client.request('POST', '/api/v1/auth/step-up', {
      token: dr.token,
      body: { code: '000000' },
    });
    expect(wrong.status, wrong.text).toBe(401);
    expect((wrong.body as { error: { code: string } }).error.code).toBe('MFA_CODE_INVALID');
    // The code of the sign-in's own step was spent by the sign-in (that step, not the clock's:
    // the wall clock may have moved into the next one since).
    const spentStep = hub.pki.store.users.get('dr.step')!.lastTotpStep!;
    const reused = await hub.client.request('POST', '/api/v1/auth/step-up', {
      token: dr.token,
      body: { code: otplib.authenticator.clone({ epoch: spentStep * 30_000 + 1_000 }).generate(dr.secret) },
    });
    expect((reused.body as { error: { code: string } }).error.code).toBe('MFA_CODE_REUSED');
    expect(hub.pki.store.audit.list({ action: 'auth.step_up', actor: 'user:dr.step', limit: 2 })).toEqual([
      expect.objectContaining({
        outcome: 'denied',
        details: expect.objectContaining({ code: 'MFA_CODE_REUSED' }),
      }),
      expect.objectContaining({
        outcome: 'denied',
        details: expect.objectContaining({ code: 'MFA_CODE_INVALID' }),
      }),
    ]);
    const both = await hub.client.request('POST', '/api/v1/auth/step-up', {
      token: dr.token,
      body: { code: '123456', passkey: { id: 'x' } },
    });
    expect(both.status).toBe(400);
    const session = await hub.client.request('GET', '/api/v1/auth/session', { token: dr.token });
    expect(session.body).toMatchObject({ stepUpValidUntil: null, passkeyRequired: false });
  });

  it('with a fresh code, break-glass goes through; after the max age it is refused again', async () => {
    await stepUp(hub, dr);
    expect(hub.pki.store.audit.list({ action: 'auth.step_up', limit: 1 })[0]).toMatchObject({
      actor: 'user:dr.step',
      outcome: 'success',
      details: { method: 'totp' },
    });
    const session = await hub.client.request('GET', '/api/v1/auth/session', { token: dr.token });
    const left =
      Date.parse((session.body as { stepUpValidUntil: string }).stepUpValidUntil) - hub.clock.now();
    expect(left).toBeGreaterThan(290_000);
    expect(left).toBeLessThanOrEqual(300_000);
    const granted = await hub.client.request('POST', `/api/v1/patients/${other}/break-glass`, {
      token: dr.token,
      body: { reason: 'patient collapsed in the ward, covering clinician unreachable' },
    });
    expect(granted.status, granted.text).toBe(201);
    expect(new BreakGlassGrantRepository(hub.pki.store.db).list({ patientId: other })).toHaveLength(1);

    hub.clock.advance(300_000);
    const keepAlive = await hub.client.request('GET', '/api/v1/auth/session', { token: dr.token });
    expect(keepAlive.body).toMatchObject({ stepUpValidUntil: null });
    const to = hub.clock.now();
    const late = await hub.client.request(
      'GET',
      `/api/v1/patients/${assigned}/telemetry?from=${to - 48 * 3_600_000}&to=${to}`,
      { token: dr.token },
    );
    expectStepUpRefusal(late, 'phi_export', 'GET /api/v1/patients/:id/telemetry', 'dr.step');
  });

  it('an admin who stepped up creates an account', async () => {
    await stepUp(hub, admin);
    const created = await hub.client.request('POST', '/api/v1/users', {
      token: admin.token,
      body: { username: 'new.nurse', role: 'clinician' },
    });
    expect(created.status, created.text).toBe(201);

    // An MFA reset (a lost phone) revokes the account's passkeys along with its TOTP.
    hub.pki.store.passkeys.add({
      id: 'pk_newnurse0001',
      username: 'new.nurse',
      credentialId: 'cred-new-nurse',
      publicKey: Buffer.from('cose'),
      signCount: 0,
      transports: ['internal'],
      deviceType: 'singleDevice',
      backedUp: false,
      aaguid: '00000000-0000-0000-0000-000000000000',
      name: 'Lost phone',
      staffDeviceId: null,
      createdAt: hub.clock.now(),
    });
    const reset = await hub.client.request('POST', '/api/v1/users/new.nurse/reset-mfa', {
      token: admin.token,
    });
    expect(reset.status, reset.text).toBe(200);
    expect(hub.pki.store.passkeys.get('pk_newnurse0001')).toMatchObject({ revokeReason: 'mfa_reset' });
    expect(hub.pki.store.audit.list({ action: 'user.mfa.reset', limit: 1 })[0]).toMatchObject({
      details: { passkeysRevoked: 1 },
    });
  });
});

describe('passkeys over the API', () => {
  it('a sign-in with a made-up or replayed answer is refused with a coded error, audited, no session', async () => {
    const options = await hub.client.request('POST', '/api/v1/auth/passkey/options', {});
    expect(options.status, options.text).toBe(200);
    const { challenge, rpId, userVerification } = options.body as Record<string, string>;
    expect(rpId).toBe('localhost');
    expect(userVerification).toBe('required');
    const clientDataJSON = Buffer.from(
      JSON.stringify({ type: 'webauthn.get', challenge, origin: `https://localhost:${hub.client.port}` }),
    ).toString('base64url');
    const forged = {
      id: 'AAAAAAAAAAAAAAAAAAAAAA',
      rawId: 'AAAAAAAAAAAAAAAAAAAAAA',
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON, authenticatorData: 'AAAA', signature: 'AAAA' },
    };
    const before = hub.pki.store.db.prepare('SELECT count(*) AS n FROM api_sessions').get() as { n: number };
    const first = await hub.client.request('POST', '/api/v1/auth/passkey', { body: { response: forged } });
    expect(first.status, first.text).toBe(401);
    expect((first.body as { error: { code: string } }).error.code).toBe('PASSKEY_INVALID');
    expect(hub.pki.store.audit.list({ action: 'auth.passkey.sign_in', limit: 1 })[0]).toMatchObject({
      actor: 'anonymous',
      outcome: 'denied',
      details: { code: 'PASSKEY_UNKNOWN' },
    });
    // The challenge was spent by the first answer: a second one is refused for that.
    const replay = await hub.client.request('POST', '/api/v1/auth/passkey', { body: { response: forged } });
    expect(replay.status).toBe(401);
    expect(hub.pki.store.audit.list({ action: 'auth.passkey.sign_in', limit: 1 })[0]).toMatchObject({
      details: { code: 'CHALLENGE_INVALID' },
    });
    const after = hub.pki.store.db.prepare('SELECT count(*) AS n FROM api_sessions').get() as { n: number };
    expect(after.n).toBe(before.n);
    expect(first.headers['set-cookie']).toBeUndefined();
  });

  it('registering a passkey needs a step-up; an engineer whose role requires passkeys reaches only their own account', async () => {
    const options = await hub.client.request('POST', '/api/v1/auth/passkeys/options', { token: eng.token });
    expectStepUpRefusal(options, 'passkey_change', 'POST /api/v1/auth/passkeys/options', 'eng.step');

    const strict = await hub.extraServer({
      config: { ...hub.deps.config, passkeyRequiredRoles: ['engineer'] },
    });
    try {
      const devices = await strict.client.request('GET', '/api/v1/devices', { token: eng.token });
      expect(devices.status, devices.text).toBe(403);
      expect((devices.body as { error: { code: string } }).error.code).toBe('PASSKEY_REQUIRED');
      expect(hub.pki.store.audit.list({ action: 'api.access', limit: 1 })[0]).toMatchObject({
        actor: 'user:eng.step',
        outcome: 'denied',
        details: { code: 'PASSKEY_REQUIRED' },
      });
      const mine = await strict.client.request('GET', '/api/v1/auth/passkeys', { token: eng.token });
      expect(mine.body).toEqual({ passkeys: [], required: true });
      const session = await strict.client.request('GET', '/api/v1/auth/session', { token: eng.token });
      expect(session.body).toMatchObject({ passkeyRequired: true });
      // Other roles are not concerned.
      const patients = await strict.client.request('GET', '/api/v1/patients', { token: dr.token });
      expect(patients.status, patients.text).toBe(200);
    } finally {
      await strict.close();
    }
  });
});
