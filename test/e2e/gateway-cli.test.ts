// `vitalgate gateway bind|unbind` on a data dir (list shares their code: the API test covers it), as an operator runs them: --help, one-line
// errors with exit codes, and the binding in the control plane, audited as the CLI's user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';

let pki: TestPki;
const env = () => ({ VITALGATE_DATA_DIR: pki.dataDir });

beforeAll(async () => {
  pki = await createTestPki();
  await pki.issueDevice('gw-cli', 'gateway');
  pki.store.devices.add({ id: 'scale-cli', kind: 'weight_scale' });
});
afterAll(() => pki?.cleanup());

describe('vitalgate gateway', () => {
  it('binds and unbinds; each step audited as the CLI user', async () => {
    const bound = await runCli(
      ['gateway', 'bind', 'gw-cli', 'scale-cli', '--system-id', 'a4:c1:38:00:11:22', '--json'],
      env(),
    );
    expect(bound.code, bound.stderr).toBe(0);
    expect(JSON.parse(bound.stdout)).toMatchObject({
      gatewayId: 'gw-cli',
      deviceId: 'scale-cli',
      systemId: 'A4:C1:38:00:11:22',
    });
    const unbound = await runCli(['gateway', 'unbind', 'gw-cli', 'scale-cli'], env());
    expect(unbound.code, unbound.stderr).toBe(0);
    expect(pki.store.gatewayBindings.list()).toEqual([]);
    const actions = pki.store.audit
      .list({ target: 'device:scale-cli' })
      .map((e) => [e.action, e.actor.startsWith('cli:')]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['gateway.bind', true],
        ['gateway.unbind', true],
      ]),
    );
  });

  it('has --help, and answers a mistake with one line and a non-zero exit', async () => {
    const help = await runCli(['gateway', 'bind', '--help'], env());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('gateway bind GATEWAY_ID DEVICE_ID');
    for (const [args, pattern] of [[['gateway', 'bind', 'scale-cli', 'gw-cli'], /not a gateway/]] as const) {
      const result = await runCli([...args], env());
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
  });
});
