// VG-API-009: failed sign-ins against one account from several networks within the hour fail
// the check; one network, old failures and names that are not accounts do not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../core/passwords.js';
import { LoginThrottle } from '../../../dashboard-api/auth/login-throttle.js';
import { accountsUnderAttack } from '../../../hub/checks/login-attacks.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
let clock: number;
let throttle: LoginThrottle;
beforeAll(async () => {
  pki = await createTestPki();
  clock = Date.now();
  throttle = new LoginThrottle(pki.store.loginThrottle, pki.config, () => clock);
  pki.store.users.add({
    username: 'adm.first',
    role: 'admin',
    passwordHash: await hashPassword('a long enough password here'),
    mustChangePassword: false,
  });
});
afterAll(() => pki.cleanup());

function failFrom(username: string, networks: string[], times: number) {
  for (const network of networks) for (let i = 0; i < times; i++) throttle.fail(username, network);
}

const run = () => accountsUnderAttack.run(checkContext(pki, { now: clock }));

describe('VG-API-009 accounts under attack', () => {
  it('passes for one forgetful network, and for failures older than the hour', async () => {
    expect((await run()).status).toBe('pass');
    failFrom('adm.first', ['192.0.2.10'], pki.config.lockoutThreshold * 3);
    expect((await run()).status).toBe('pass');
    failFrom('adm.first', ['198.51.100.7', '2001:db8:1:2::5'], 1);
    clock += 2 * 3_600_000;
    expect((await run()).status).toBe('pass');
  });

  it('warns when names that are not accounts are tried from many networks', async () => {
    failFrom('no.such.user', ['203.0.113.1', '203.0.113.2', '203.0.113.3'], pki.config.lockoutThreshold);
    expect(await run()).toMatchObject({ status: 'warn', evidence: expect.stringContaining('1 names') });
  });

  it('fails when an account has many failures from several networks within the hour', async () => {
    const networks = ['203.0.113.20', '203.0.113.21', '2001:db8:aa:bb::1', '::ffff:203.0.113.20'];
    failFrom('adm.first', networks, pki.config.lockoutThreshold - 1);
    const outcome = await run();
    expect(outcome).toMatchObject({
      status: 'fail',
      // The IPv4-mapped address is the same network as its IPv4 form.
      evidence: expect.stringContaining(
        `adm.first (${4 * (pki.config.lockoutThreshold - 1)} failures from 3 networks)`,
      ),
      remediation: expect.stringContaining('firewall'),
    });
    expect(outcome.evidence).toContain('1 names that are not accounts');
    expect(accountsUnderAttack.severity).toBe('high');
  });
});
