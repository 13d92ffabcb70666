// `vitalgate fhir-client add|list` as an operator runs them: a PEM public key or a JWKS file
// registers a SMART system client (printed id, audited as the CLI user); a private key, a key on
// the wrong curve or a scope outside system/<type>.<rs|r|s|read> is refused in one line with
// nothing stored.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'vg-fhir-cli-'));
const env = { VITALGATE_DATA_DIR: join(scratch, 'hub') };
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(async () => {
  expect((await runCli(['init', '--json'], env)).code).toBe(0);
}, 60_000);

describe('vitalgate fhir-client', () => {
  it('registers clients from a PEM key or a JWKS and lists them; refuses bad keys and scopes', async () => {
    const es = await generateKeyPair('ES384', { extractable: true });
    const pem = join(scratch, 'client.pem');
    writeFileSync(pem, await exportSPKI(es.publicKey));
    const added = await runCli(
      [
        'fhir-client',
        'add',
        '--name',
        'EHR',
        '--public-key',
        pem,
        '--scope',
        'system/Observation.rs',
        '--json',
      ],
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    const client = JSON.parse(added.stdout) as { id: string; scopes: string[] };
    expect(client.scopes).toEqual(['system/Observation.rs']);

    const jwks = join(scratch, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [await exportJWK(es.publicKey)] }));
    const second = await runCli(
      [
        'fhir-client',
        'add',
        '--name',
        'Research',
        '--jwks',
        jwks,
        '--scope',
        'system/*.rs',
        '--demographics',
      ],
      env,
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^FHIR client fc_\S+ registered: system\/\*\.rs\n$/);

    const priv = join(scratch, 'private.pem');
    writeFileSync(priv, await exportPKCS8(es.privateKey));
    const p256 = join(scratch, 'p256.pem');
    writeFileSync(p256, await exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey));
    for (const [args, message] of [
      [['--public-key', priv, '--scope', 'system/Observation.rs'], 'register public keys only'],
      [['--public-key', p256, '--scope', 'system/Observation.rs'], 'not an EC P-384 or RSA key'],
      [['--public-key', pem, '--scope', 'user/Observation.rs'], 'scopes are system/'],
      [['--public-key', pem], 'at least one --scope'],
      [['--scope', 'system/Observation.rs'], 'exactly one of --jwks FILE or --public-key FILE'],
    ] as const) {
      const refused = await runCli(['fhir-client', 'add', '--name', 'bad', ...args], env);
      expect(refused.code, args.join(' ')).not.toBe(0);
      expect(refused.stdout).toBe('');
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toContain(message);
    }

    const listed = await runCli(['fhir-client', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout)).toEqual([
      { id: client.id, name: 'EHR', scopes: ['system/Observation.rs'], demographics: false },
      expect.objectContaining({ name: 'Research', scopes: ['system/*.rs'], demographics: true }),
    ]);
    const help = await runCli(['fhir-client', 'add', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--public-key FILE');
  }, 120_000);
});
