// Both listeners of the hub, the device listener (MQTT over mutual TLS) and the HTTPS API, speak
// TLS 1.2+ with AEAD suites and forward secrecy only. openssl s_client offers one suite at a time
// over TLS 1.2: an obsolete CBC suite must be refused at the handshake, an ECDHE-GCM one accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceCredentials } from '../../support/hub-pki.js';
import { runPeer, writeFiles } from '../../support/openssl.js';
import { startTestHub, type TestHub } from './harness.js';

let hub: TestHub;
let device: DeviceCredentials;
let files: Record<string, string>;

beforeAll(async () => {
  hub = await startTestHub();
  device = await hub.pki.issueDevice('ox-tls', 'pulse_oximeter');
  files = writeFiles({ 'ca.pem': device.caPem, 'cert.pem': device.certPem, 'key.pem': device.keyPem });
});

afterAll(async () => {
  await hub?.close();
});

/** One TLS 1.2 handshake offering only `cipher`; the suite the server chose, or null if refused. */
async function negotiate(port: number, cipher: string): Promise<{ chosen: string | null; output: string }> {
  const r = await runPeer(
    'openssl',
    [
      ...['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-tls1_2'],
      ...[
        '-cipher',
        cipher,
        '-CAfile',
        files['ca.pem']!,
        '-cert',
        files['cert.pem']!,
        '-key',
        files['key.pem']!,
      ],
    ],
    '',
    10_000,
  );
  const output = r.stdout + r.stderr;
  const chosen = /Cipher is (\S+)/.exec(output)?.[1];
  return { chosen: chosen && chosen !== '(NONE)' ? chosen : null, output };
}

const listeners = [
  ['device listener (MQTT)', () => hub.brokerPort],
  ['API listener (HTTPS)', () => hub.client.port],
] as const;

describe.each(listeners)('the %s', (_name, port) => {
  it.each(['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-ECDSA-AES128-SHA'])(
    'refuses the CBC suite %s over TLS 1.2',
    async (cbc) => {
      const { chosen, output } = await negotiate(port(), cbc);
      expect(chosen).toBeNull();
      expect(output).toMatch(/handshake failure|no shared cipher|no ciphers available/);
    },
  );

  it.each(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'])(
    'accepts the AEAD suite %s over TLS 1.2',
    async (aead) => {
      expect((await negotiate(port(), aead)).chosen).toBe(aead);
    },
  );

  it('refuses TLS 1.1', async () => {
    const r = await runPeer(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${port()}`,
        '-servername',
        'localhost',
        '-tls1_1',
        '-cipher',
        'ALL@SECLEVEL=0',
      ],
      '',
      10_000,
    );
    expect(/Cipher is (\S+)/.exec(r.stdout + r.stderr)?.[1] ?? '(NONE)').toBe('(NONE)');
  });
});
