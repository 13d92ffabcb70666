// VG-STAFF-004..009, each passing on a sound deployment and broken by the state or setting it
// guards against: a forgotten device still signed in, a lost device whose session outlived the
// mark, adaptive access left on observe, a geofence without sites, an over-broad trusted proxy
// range, a city-sized site.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubConfig } from '../../../core/config.js';
import { ApiSessionRepository } from '../../../core/store/api-sessions.js';
import { StaffDeviceRepository } from '../../../core/store/staff-devices.js';
import {
  adaptiveAccessEnforced,
  geofenceHasSites,
  geofenceSitesPlausible,
  lostDevicesSignedOut,
  staleStaffDevices,
  trustedProxiesNarrow,
} from '../../../hub/checks/staff-devices.js';
import { checkContext } from '../../support/checks.js';
import { runCli } from '../../support/cli.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
let devices: StaffDeviceRepository;
let sessions: ApiSessionRepository;
const now = Date.now();
const DAY = 86_400_000;

beforeAll(async () => {
  pki = await createTestPki();
  devices = new StaffDeviceRepository(pki.store.db);
  sessions = new ApiSessionRepository(pki.store.db);
  pki.store.users.add({
    username: 'nurse.a',
    role: 'clinician',
    passwordHash: 'x',
    mustChangePassword: false,
  });
});
afterAll(() => pki.cleanup());

const run = (check: typeof staleStaffDevices, config: Partial<HubConfig> = {}) =>
  check.run(checkContext(pki, { now, config: { ...pki.config, ...config } }));

/** A device seen `daysAgo` with one live session. */
function deviceWithSession(id: string, daysAgo: number): void {
  const at = now - daysAgo * DAY;
  devices.add({
    id,
    cookieHash: `hash-${id}`,
    username: 'nurse.a',
    name: 'Chrome on Android',
    at,
    address: '10.1.2.3',
  });
  sessions.add({
    tokenHash: `token-${id}`,
    username: 'nurse.a',
    createdAt: at,
    lastSeenAt: at,
    expiresAt: now + DAY,
    source: null,
  });
  devices.bindSession(`token-${id}`, id);
}

describe('staff device checks', () => {
  it('VG-STAFF-004 fails for a device unseen for the stale days that still holds a session', async () => {
    deviceWithSession('sdv_recentrecentrecen', 1);
    expect((await run(staleStaffDevices)).status).toBe('pass');
    deviceWithSession('sdv_staleStaleStaleSt', pki.config.staffDeviceStaleDays + 1);
    const outcome = await run(staleStaffDevices);
    expect(outcome).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('sdv_staleStaleStaleSt'),
    });
    expect(outcome.evidence).not.toContain('sdv_recentrecentrecen');
    sessions.end('token-sdv_staleStaleStaleSt', now, 'logout');
    expect((await run(staleStaffDevices)).status).toBe('pass');
  });

  it('VG-STAFF-005 fails for a lost device with a live session', async () => {
    expect((await run(lostDevicesSignedOut)).status).toBe('pass');
    devices.markLost('sdv_recentrecentrecen', now, 'nurse.a', 'left on the bus');
    expect(await run(lostDevicesSignedOut)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('sdv_recentrecentrecen (nurse.a, 1)'),
    });
    sessions.end('token-sdv_recentrecentrecen', now, 'device_lost');
    expect((await run(lostDevicesSignedOut)).status).toBe('pass');
  });

  it('VG-STAFF-006 warns while adaptive access only observes for clinicians', async () => {
    expect(await run(adaptiveAccessEnforced)).toMatchObject({
      status: 'warn',
      remediation: expect.stringContaining('VITALGATE_ADAPTIVE_ACCESS=clinician:step-up'),
    });
    expect((await run(adaptiveAccessEnforced, { adaptiveAccess: { clinician: 'observe' } })).status).toBe(
      'warn',
    );
    expect((await run(adaptiveAccessEnforced, { adaptiveAccess: { clinician: 'step-up' } })).status).toBe(
      'pass',
    );
  });

  it('VG-STAFF-007 fails for a geofence with no sites', async () => {
    expect((await run(geofenceHasSites)).status).toBe('not_applicable');
    expect((await run(geofenceHasSites, { geofence: { clinician: 'deny' } })).status).toBe('fail');
    const site = { name: 'main', lat: 52.36, lon: 4.89, radiusM: 300 };
    expect(
      (await run(geofenceHasSites, { geofence: { clinician: 'deny' }, geofenceSites: [site] })).status,
    ).toBe('pass');
  });

  it('VG-STAFF-008 fails for trusted proxy ranges anyone could be in', async () => {
    expect((await run(trustedProxiesNarrow)).status).toBe('not_applicable');
    expect(
      (await run(trustedProxiesNarrow, { trustedProxies: ['10.0.4.10/32', 'fd00:1::/48'] })).status,
    ).toBe('pass');
    for (const broad of ['0.0.0.0/0', '10.0.0.0/8', '::/0']) {
      expect(await run(trustedProxiesNarrow, { trustedProxies: ['10.0.4.10/32', broad] })).toMatchObject({
        status: 'fail',
        evidence: expect.stringContaining(broad),
      });
    }
  });

  it('VG-STAFF-009 warns for a city-sized site or a geofence that only observes', async () => {
    const campus = { name: 'main', lat: 52.36, lon: 4.89, radiusM: 400 };
    const city = { name: 'city', lat: 52.37, lon: 4.9, radiusM: 20_000 };
    expect(
      (await run(geofenceSitesPlausible, { geofence: { clinician: 'deny' }, geofenceSites: [campus] }))
        .status,
    ).toBe('pass');
    expect(
      await run(geofenceSitesPlausible, { geofence: { clinician: 'deny' }, geofenceSites: [campus, city] }),
    ).toMatchObject({ status: 'warn', evidence: expect.stringContaining('city (20000 m)') });
    expect(
      (await run(geofenceSitesPlausible, { geofence: { clinician: 'observe' }, geofenceSites: [campus] }))
        .status,
    ).toBe('warn');
  });
});

describe('vitalgate user sign-out-everywhere and user devices', () => {
  it('signs a user who leaves out everywhere from the host, marks their devices lost, audited as cli', async () => {
    deviceWithSession('sdv_leaverLeaverLeave', 0);
    const env = { VITALGATE_DATA_DIR: pki.dataDir };
    const unknown = await runCli(['user', 'sign-out-everywhere', 'no.such.user', '--reason', 'left'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain('no user no.such.user');

    const run = await runCli(
      [
        'user',
        'sign-out-everywhere',
        'nurse.a',
        '--reason',
        'left the hospital',
        '--mark-devices-lost',
        '--json',
      ],
      env,
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toMatchObject({
      username: 'nurse.a',
      sessionsEnded: 1,
      // the leaver's phone, and the device VG-STAFF-004's test signed out but did not mark lost
      devicesMarkedLost: 2,
    });
    expect(sessions.listLive(0, 'nurse.a')).toEqual([]);
    expect(devices.get('sdv_leaverLeaverLeave')).toMatchObject({ lostReason: 'left the hospital' });
    expect(pki.store.audit.list({ action: 'auth.sign_out_everywhere', limit: 1 })[0]!.actor).toMatch(/^cli:/);

    const listed = await runCli(['user', 'devices', 'nurse.a', '--json'], env);
    const views = JSON.parse(listed.stdout) as { id: string; lost: { by: string } | null }[];
    // Every device is lost now: the two this run marked, by the operator; the one VG-STAFF-005's test marked.
    expect(views.every((d) => d.lost !== null)).toBe(true);
    expect(views.filter((d) => d.lost!.by.startsWith('cli:'))).toHaveLength(2);
  });
});
