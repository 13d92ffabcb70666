// VG-STAFF-001..003, each passing on a sound deployment and broken by the state or setting it
// guards against: a PHI account with neither a passkey nor TOTP, a passkey role whose user has no
// passkey, a passkey flagged as copied that is still registered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubConfig } from '../../../core/config.js';
import {
  flaggedPasskeysRemoved,
  passkeyRolesHavePasskeys,
  phiRolesHaveSecondFactor,
} from '../../../hub/checks/staff-factors.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
const now = Date.now();

beforeAll(async () => {
  pki = await createTestPki();
  for (const [username, role] of [
    ['nurse.totp', 'clinician'],
    ['eng.totp', 'engineer'],
  ] as const) {
    pki.store.users.add({ username, role, passwordHash: 'x', mustChangePassword: false });
    pki.store.users.update(username, { totpEnrolledAt: now });
  }
});
afterAll(() => pki.cleanup());

const run = (check: typeof phiRolesHaveSecondFactor, config: Partial<HubConfig> = {}) =>
  check.run(checkContext(pki, { now, config: { ...pki.config, ...config } }));

function addPasskey(id: string, username: string): void {
  pki.store.passkeys.add({
    id,
    username,
    credentialId: `cred-${id}`,
    publicKey: Buffer.from('cose'),
    signCount: 3,
    transports: ['internal'],
    deviceType: 'singleDevice',
    backedUp: false,
    aaguid: '00000000-0000-0000-0000-000000000000',
    name: 'Ward phone',
    staffDeviceId: null,
    createdAt: now,
  });
}

describe('staff factor checks', () => {
  it('VG-STAFF-001 fails for a PHI account a day old with neither passkey nor TOTP; a passkey mends it', async () => {
    expect((await run(phiRolesHaveSecondFactor)).status).toBe('pass');
    pki.store.users.add({
      username: 'nurse.bare',
      role: 'clinician',
      passwordHash: 'x',
      mustChangePassword: true,
    });
    // An engineer reads no PHI: not this check's concern.
    pki.store.users.add({
      username: 'eng.bare',
      role: 'engineer',
      passwordHash: 'x',
      mustChangePassword: true,
    });
    // A new account enrols at its first sign-in: named, not failed, for a day.
    expect(await run(phiRolesHaveSecondFactor)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('nurse.bare'),
    });
    const later = () =>
      phiRolesHaveSecondFactor.run(checkContext(pki, { now: now + 2 * 86_400_000, config: pki.config }));
    const outcome = await later();
    expect(outcome).toMatchObject({ status: 'fail', evidence: expect.stringContaining('nurse.bare') });
    expect(outcome.evidence).not.toContain('eng.bare');
    expect(outcome.evidence).not.toContain('nurse.totp');
    addPasskey('pk_nursebare01', 'nurse.bare');
    expect((await later()).status).toBe('pass');
    expect((await run(phiRolesHaveSecondFactor)).status).toBe('pass');
  });

  it('VG-STAFF-002 is not applicable without the setting and fails for a passkey role user without one', async () => {
    expect((await run(passkeyRolesHavePasskeys)).status).toBe('not_applicable');
    expect((await run(passkeyRolesHavePasskeys, { passkeyRequiredRoles: ['clinician'] })).status).toBe(
      'fail',
    );
    const outcome = await run(passkeyRolesHavePasskeys, { passkeyRequiredRoles: ['clinician'] });
    expect(outcome.evidence).toContain('nurse.totp (clinician)');
    expect(outcome.evidence).not.toContain('nurse.bare');
    addPasskey('pk_nursetotp01', 'nurse.totp');
    expect((await run(passkeyRolesHavePasskeys, { passkeyRequiredRoles: ['clinician'] })).status).toBe(
      'pass',
    );
  });

  it('VG-STAFF-003 fails while a passkey flagged as copied is registered, and passes once it is removed', async () => {
    expect((await run(flaggedPasskeysRemoved)).status).toBe('pass');
    pki.store.passkeys.flag('pk_nursetotp01', now);
    expect(await run(flaggedPasskeysRemoved)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('pk_nursetotp01 (nurse.totp)'),
    });
    // A flagged passkey is no usable passkey for the other checks either.
    expect((await run(passkeyRolesHavePasskeys, { passkeyRequiredRoles: ['clinician'] })).status).toBe(
      'fail',
    );
    pki.store.passkeys.revoke('pk_nursetotp01', 'removed_by_user', now);
    expect((await run(flaggedPasskeysRemoved)).status).toBe('pass');
  });
});
