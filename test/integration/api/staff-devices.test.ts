// Staff devices over real HTTPS: the device cookie set at sign-in, a user's own devices and an
// admin's view of everyone's, renaming, marking a device lost (its sessions end at once, its next
// request is answered with Clear-Site-Data and DEVICE_SIGNED_OUT_REMOTELY), "sign out
// everywhere" for oneself and for a user who leaves; each refusal coded, audited, and granting
// nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolledUser, STRONG_PASSWORD, startTestHub, totpCode, type TestHub } from './harness.js';

let hub: TestHub;
let nurse: { username: string; secret: string; token: string };
let other: { username: string; secret: string; token: string };
let admin: { username: string; secret: string; token: string };

interface DeviceView {
  id: string;
  username: string;
  name: string;
  current: boolean;
  lost: { by: string; wiped: boolean } | null;
  sessions: unknown[];
}

beforeAll(async () => {
  hub = await startTestHub();
  nurse = await enrolledUser(hub, 'nurse.devices', 'clinician');
  other = await enrolledUser(hub, 'nurse.other', 'clinician');
  admin = await enrolledUser(hub, 'adm.devices', 'admin');
}, 60_000);

afterAll(async () => hub?.close());

/** Signs in as a browser would: with the device cookie it holds (if any); answers both cookies. */
async function browserSignIn(user: { username: string; secret: string }, deviceCookie?: string) {
  hub.clock.advance(30_000);
  const headers: Record<string, string> = {
    'user-agent':
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36',
    ...(deviceCookie ? { cookie: `vg_device=${deviceCookie}` } : {}),
  };
  const step = await hub.client.request('POST', '/api/v1/auth/login', {
    headers,
    body: { username: user.username, password: STRONG_PASSWORD },
  });
  const mfa = await hub.client.request('POST', '/api/v1/auth/mfa', {
    headers,
    body: {
      challengeId: (step.body as { challengeId: string }).challengeId,
      code: totpCode(hub, user.secret),
    },
  });
  expect(mfa.status, mfa.text).toBe(200);
  const cookies = (mfa.headers['set-cookie'] ?? []) as string[];
  const device = cookies.find((c) => c.startsWith('vg_device='));
  return {
    token: (mfa.body as { token: string }).token,
    deviceCookie: device ? device.split(';')[0]!.slice('vg_device='.length) : deviceCookie!,
    setDevice: device,
  };
}

const asDevice = (token: string, deviceCookie: string, extra: Record<string, string> = {}) => ({
  token,
  headers: { cookie: `vg_device=${deviceCookie}`, ...extra },
});

async function devicesOf(token: string, query = ''): Promise<DeviceView[]> {
  const res = await hub.client.request('GET', `/api/v1/staff-devices${query}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body as DeviceView[];
}

describe('staff devices', () => {
  it('sets a long-lived HttpOnly, Secure, SameSite=Strict device cookie at sign-in and reuses it', async () => {
    const phone = await browserSignIn(nurse);
    const attributes = phone.setDevice!.split(';').map((a) => a.trim());
    expect(phone.deviceCookie).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/']));
    expect(Number(attributes.find((a) => a.startsWith('Max-Age='))!.slice(8))).toBeGreaterThan(300 * 86_400);

    const again = await browserSignIn(nurse, phone.deviceCookie);
    expect(again.setDevice).toBeUndefined();
    const mine = await hub.client.request(
      'GET',
      '/api/v1/staff-devices',
      asDevice(again.token, phone.deviceCookie),
    );
    const devices = mine.body as DeviceView[];
    const here = devices.find((d) => d.current)!;
    expect(here).toMatchObject({ username: 'nurse.devices', name: 'Chrome on Android' });
    expect(here.sessions).toHaveLength(2);
    // The database keeps only a hash of the cookie.
    const stored = JSON.stringify(hub.pki.store.db.prepare('SELECT * FROM staff_devices').all());
    expect(stored).not.toContain(phone.deviceCookie);
  });

  it('shows a user only their own devices, and an admin everyone’s; asking for another user’s is refused', async () => {
    await browserSignIn(other);
    const own = await devicesOf(nurse.token);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((d) => d.username === 'nurse.devices')).toBe(true);
    const all = await devicesOf(admin.token);
    expect(new Set(all.map((d) => d.username))).toEqual(
      new Set(['nurse.devices', 'nurse.other', 'adm.devices']),
    );
    expect(
      (await devicesOf(admin.token, '?username=nurse.other')).every((d) => d.username === 'nurse.other'),
    ).toBe(true);

    const refused = await hub.client.request('GET', '/api/v1/staff-devices?username=nurse.other', {
      token: nurse.token,
    });
    expect(refused.status).toBe(403);
    expect((refused.body as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    expect(hub.pki.store.audit.list({ action: 'staff_device.list', limit: 1 })[0]).toMatchObject({
      actor: 'user:nurse.devices',
      target: 'user:nurse.other',
      outcome: 'denied',
    });
  });

  it('renames a device of one’s own; another user’s device is answered as not found and keeps its name', async () => {
    const [mine] = await devicesOf(nurse.token);
    const renamed = await hub.client.request('PUT', `/api/v1/staff-devices/${mine!.id}/name`, {
      token: nurse.token,
      body: { name: 'Ward 4 phone' },
    });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Ward 4 phone', userAgentName: 'Chrome on Android' });

    const theirs = (await devicesOf(other.token))[0]!;
    for (const [method, path, body] of [
      ['PUT', `/api/v1/staff-devices/${theirs.id}/name`, { name: 'mine now' }],
      ['POST', `/api/v1/staff-devices/${theirs.id}/lost`, { reason: 'not mine to mark' }],
    ] as const) {
      const res = await hub.client.request(method, path, { token: nurse.token, body });
      expect(res.status, path).toBe(404);
      expect((res.body as { error: { code: string } }).error.code).toBe('STAFF_DEVICE_NOT_FOUND');
    }
    expect(
      hub.pki.store.audit.list({ action: 'staff_device.lost', outcome: 'denied', limit: 1 })[0],
    ).toMatchObject({
      actor: 'user:nurse.devices',
      target: `staff_device:${theirs.id}`,
    });
    const after = (await devicesOf(other.token)).find((d) => d.id === theirs.id)!;
    expect(after).toMatchObject({ name: theirs.name, lost: null });
    expect(after.sessions.length).toBe(theirs.sessions.length);

    const bad = await hub.client.request('PUT', `/api/v1/staff-devices/${mine!.id}/name`, {
      token: nurse.token,
      body: { name: '<script>' },
    });
    expect(bad.status).toBe(400);
    expect(hub.pki.store.audit.list({ action: 'api.request.rejected', limit: 1 })[0]).toMatchObject({
      target: 'route:PUT /api/v1/staff-devices/:id/name',
      outcome: 'denied',
    });
    expect((await devicesOf(nurse.token)).find((d) => d.id === mine!.id)!.name).toBe('Ward 4 phone');
  });

  it('marks a lost device from another one: its sessions end at once, its next request clears the site data', async () => {
    const phone = await browserSignIn(nurse);
    const laptop = await browserSignIn(nurse);
    const before = await hub.client.request(
      'GET',
      '/api/v1/auth/session',
      asDevice(phone.token, phone.deviceCookie),
    );
    expect(before.status).toBe(200);
    const target = (
      (await hub.client.request('GET', '/api/v1/staff-devices', asDevice(phone.token, phone.deviceCookie)))
        .body as DeviceView[]
    ).find((d) => d.current)!;

    // A passkey registered on the phone, and one on the laptop (the WebAuthn ceremony itself is
    // tested in step-up.test.ts; here only the binding to the device matters).
    const passkey = (id: string, staffDeviceId: string) =>
      hub.pki.store.passkeys.add({
        id,
        username: nurse.username,
        credentialId: `cred-${id}`,
        publicKey: Buffer.from('not used here'),
        signCount: 0,
        transports: ['internal'],
        deviceType: 'singleDevice',
        backedUp: false,
        aaguid: '00000000-0000-0000-0000-000000000000',
        name: id,
        staffDeviceId,
        createdAt: hub.clock.now(),
      });
    const laptopId = (
      (await hub.client.request('GET', '/api/v1/staff-devices', asDevice(laptop.token, laptop.deviceCookie)))
        .body as DeviceView[]
    ).find((d) => d.current)!.id;
    passkey('pk_phone', target.id);
    passkey('pk_laptop', laptopId);

    const lost = await hub.client.request('POST', `/api/v1/staff-devices/${target.id}/lost`, {
      ...asDevice(laptop.token, laptop.deviceCookie),
      body: { reason: 'left on the bus' },
    });
    expect(lost.status, lost.text).toBe(200);
    expect(lost.body).toMatchObject({
      sessionsEnded: 1,
      passkeysRevoked: 1,
      device: { lost: { by: 'nurse.devices', wiped: false } },
    });
    expect(hub.pki.store.passkeys.get('pk_phone')).toMatchObject({ revokeReason: 'staff_device_lost' });
    expect(hub.pki.store.passkeys.get('pk_laptop')).toMatchObject({ revokedAt: null });
    expect(
      hub.pki.store.audit.list({ action: 'staff_device.lost', outcome: 'success', limit: 1 })[0],
    ).toMatchObject({
      target: `staff_device:${target.id}`,
      details: { reason: 'left on the bus', sessionsEnded: 1 },
    });

    // The stolen session token alone no longer opens anything.
    const stolen = await hub.client.request('GET', '/api/v1/auth/session', { token: phone.token });
    expect(stolen.status).toBe(401);
    // The device's next request: Clear-Site-Data and a coded error.
    const next = await hub.client.request(
      'GET',
      '/api/v1/patients',
      asDevice(phone.token, phone.deviceCookie),
    );
    expect(next.status).toBe(401);
    expect(next.headers['clear-site-data']).toBe('"cache", "cookies", "storage"');
    expect((next.body as { error: { code: string } }).error.code).toBe('DEVICE_SIGNED_OUT_REMOTELY');
    // A page load is sent to the console's "signed out remotely" page, with the same header.
    const page = await hub.client.request('GET', '/', {
      headers: { cookie: `vg_device=${phone.deviceCookie}`, accept: 'text/html' },
    });
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/#/signed-out-remotely');
    expect(page.headers['clear-site-data']).toBe('"cache", "cookies", "storage"');
    expect(hub.pki.store.audit.list({ action: 'staff_device.wipe' })).toHaveLength(1);
    expect(hub.pki.store.audit.list({ action: 'auth.session', limit: 1 })[0]).toMatchObject({
      actor: 'user:nurse.devices',
      target: `staff_device:${target.id}`,
      outcome: 'denied',
      details: { code: 'DEVICE_SIGNED_OUT_REMOTELY' },
    });
    // Even a sign-in with the lost device's cookie is refused; without it (wiped) it is a new device.
    const relogin = await hub.client.request('POST', '/api/v1/auth/login', {
      headers: { cookie: `vg_device=${phone.deviceCookie}` },
      body: { username: nurse.username, password: STRONG_PASSWORD },
    });
    expect((relogin.body as { error: { code: string } }).error.code).toBe('DEVICE_SIGNED_OUT_REMOTELY');
    const back = await browserSignIn(nurse);
    expect(back.deviceCookie).not.toBe(phone.deviceCookie);
    // The other device is untouched.
    const still = await hub.client.request(
      'GET',
      '/api/v1/auth/session',
      asDevice(laptop.token, laptop.deviceCookie),
    );
    expect(still.status).toBe(200);
  });

  it('signs the user out everywhere', async () => {
    const a = await browserSignIn(other);
    const b = await browserSignIn(other);
    const res = await hub.client.request('POST', '/api/v1/auth/sign-out-everywhere', { token: a.token });
    expect(res.status, res.text).toBe(200);
    expect((res.body as { sessionsEnded: number }).sessionsEnded).toBeGreaterThanOrEqual(2);
    for (const t of [a.token, b.token, other.token]) {
      expect((await hub.client.request('GET', '/api/v1/auth/session', { token: t })).status).toBe(401);
    }
    expect(hub.pki.store.audit.list({ action: 'auth.sign_out_everywhere', limit: 1 })[0]).toMatchObject({
      actor: 'user:nurse.other',
      target: 'user:nurse.other',
    });
  });

  it('lets an admin sign out a user who leaves and mark their devices lost; others are refused', async () => {
    const leaver = await enrolledUser(hub, 'nurse.leaving', 'clinician');
    const device = await browserSignIn(leaver);

    const byNurse = await hub.client.request('POST', '/api/v1/users/nurse.leaving/sign-out-everywhere', {
      token: nurse.token,
      body: { reason: 'leaves the hospital', markDevicesLost: true },
    });
    expect(byNurse.status).toBe(403);
    expect(hub.pki.store.audit.list({ action: 'api.access', limit: 1 })[0]).toMatchObject({
      actor: 'user:nurse.devices',
      target: 'route:POST /api/v1/users/:username/sign-out-everywhere',
      outcome: 'denied',
    });
    expect((await hub.client.request('GET', '/api/v1/auth/session', { token: device.token })).status).toBe(
      200,
    );

    const unknown = await hub.client.request('POST', '/api/v1/users/no.such.user/sign-out-everywhere', {
      token: admin.token,
      body: { reason: 'leaves the hospital' },
    });
    expect(unknown.status).toBe(404);
    expect((unknown.body as { error: { code: string } }).error.code).toBe('USER_NOT_FOUND');
    expect(
      hub.pki.store.audit.list({ action: 'auth.sign_out_everywhere', outcome: 'denied', limit: 1 })[0],
    ).toMatchObject({
      actor: 'user:adm.devices',
      target: 'user:no.such.user',
      details: { code: 'USER_NOT_FOUND' },
    });

    const res = await hub.client.request('POST', '/api/v1/users/nurse.leaving/sign-out-everywhere', {
      token: admin.token,
      body: { reason: 'leaves the hospital', markDevicesLost: true },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ devicesMarkedLost: 2 });
    expect((await hub.client.request('GET', '/api/v1/auth/session', { token: leaver.token })).status).toBe(
      401,
    );
    const next = await hub.client.request(
      'GET',
      '/api/v1/auth/session',
      asDevice(device.token, device.deviceCookie),
    );
    expect(next.headers['clear-site-data']).toBe('"cache", "cookies", "storage"');
    expect(
      (await devicesOf(admin.token, '?username=nurse.leaving')).every((d) => d.lost?.by === 'adm.devices'),
    ).toBe(true);
  });
});
