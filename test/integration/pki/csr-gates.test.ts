// The CSR gates against requests made by the real `openssl req`: good ones are accepted and the
// certificate issued from them verifies; each hostile one is refused with its own code before
// anything is signed.
import { readFileSync } from 'node:fs';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { acceptDeviceCsr, acceptDeviceCsrDer, decodeCsrPem, MAX_CSR_PEM_BYTES } from '../../../pki/csr.js';
import * as profiles from '../../../pki/profiles.js';
import { openssl, writeFiles } from '../../support/openssl.js';
import { createTestCa, type TestCa } from '../../unit/pki/ca-fixture.js';

let ca: TestCa;
beforeAll(async () => {
  ca = await createTestCa();
});

const issueSpy = vi.spyOn(profiles, 'issueCertificate');
beforeEach(() => {
  issueSpy.mockClear();
});

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

/** `openssl req -new` with a fresh key; returns the PEM CSR. */
function opensslCsr(subject: string, keyArgs: string[] = P256, extra: string[] = []): string {
  const f = writeFiles({});
  const out = openssl([
    'req',
    '-new',
    ...keyArgs,
    '-nodes',
    '-keyout',
    `${f.dir}/k.pem`,
    '-subj',
    subject,
    ...extra,
  ]);
  expect(out.status, out.stderr).toBe(0);
  return out.stdout;
}

/** The enrollment path of the stateless core: gate, then issue. */
async function gateThenIssue(csr: unknown, deviceId: string) {
  const accepted = await acceptDeviceCsr(csr, deviceId);
  return profiles.issueCertificate({
    profile: 'device',
    subject: deviceId,
    publicKey: accepted.spki,
    issuerCert: ca.issuing.certificate,
    issuerKey: ca.issuingKey,
    urls: ca.urls,
  });
}

async function expectRefused(csr: unknown, deviceId: string, code: string) {
  await expect(gateThenIssue(csr, deviceId)).rejects.toMatchObject({ code });
  expect(issueSpy).not.toHaveBeenCalled();
}

const pemOf = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END CERTIFICATE REQUEST-----\n`;

describe('accepted', () => {
  it('ECDSA P-256 from openssl req -newkey ec; the issued certificate verifies', async () => {
    const cert = await gateThenIssue(opensslCsr('/CN=ox-1'), 'ox-1');
    const f = writeFiles({ 'root.pem': ca.root.pem, 'issuing.pem': ca.issuing.pem, 'dev.pem': cert.pem });
    const out = openssl([
      'verify',
      '-CAfile',
      f['root.pem']!,
      '-untrusted',
      f['issuing.pem']!,
      f['dev.pem']!,
    ]);
    expect(out.stdout).toContain('dev.pem: OK');
    expect(issueSpy).toHaveBeenCalledTimes(1);
  });

  it('P-384, RSA-2048 and RSA-4096 keys', async () => {
    for (const args of [
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
      ['-newkey', 'rsa:2048'],
    ]) {
      const accepted = await acceptDeviceCsr(opensslCsr('/CN=ox-2', args), 'ox-2');
      expect(accepted.key.type).toBe(args[1] === 'ec' ? 'ec' : 'rsa');
    }
    expect(
      (await acceptDeviceCsr(opensslCsr('/CN=ox-3', ['-newkey', 'rsa:4096']), 'ox-3')).key,
    ).toMatchObject({
      type: 'rsa',
      bits: 4096,
    });
  });

  it('the device’s own SAN URI, other subject attributes and a challengePassword (EST)', async () => {
    const f = writeFiles({
      'req.cnf': [
        '[req]',
        'prompt = no',
        'distinguished_name = dn',
        'attributes = attrs',
        '[dn]',
        'C = NL',
        'O = Clinic',
        'CN = ox-4',
        '[attrs]',
        'challengePassword = not-a-secret-123',
      ].join('\n'),
    });
    const csr = openssl([
      'req',
      '-new',
      ...P256,
      '-nodes',
      '-keyout',
      `${f.dir}/k.pem`,
      '-config',
      f['req.cnf']!,
    ]);
    expect(csr.status, csr.stderr).toBe(0);
    await expect(acceptDeviceCsr(csr.stdout, 'ox-4')).resolves.toBeDefined();
    const withSan = opensslCsr('/CN=ox-5', P256, ['-addext', 'subjectAltName=URI:urn:vitalgate:device:ox-5']);
    await expect(acceptDeviceCsr(withSan, 'ox-5')).resolves.toBeDefined();
  });

  it('the DER form, as EST simpleenroll sends it', () => {
    const der = decodeCsrPem(opensslCsr('/CN=ox-6'));
    expect(acceptDeviceCsrDer(der, 'ox-6').key).toEqual({ type: 'ec', curve: 'P-256' });
  });
});

describe('refused with a code, and nothing issued', () => {
  it('RSA-1024: CSR_KEY_TOO_WEAK', async () => {
    await expectRefused(opensslCsr('/CN=d1', ['-newkey', 'rsa:1024']), 'd1', 'CSR_KEY_TOO_WEAK');
  });

  it('RSA with public exponent 3: CSR_KEY_TOO_WEAK', async () => {
    const f = writeFiles({});
    const key = openssl([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-pkeyopt',
      'rsa_keygen_pubexp:3',
      '-out',
      `${f.dir}/k.pem`,
    ]);
    expect(key.status, key.stderr).toBe(0);
    const csr = openssl(['req', '-new', '-key', `${f.dir}/k.pem`, '-subj', '/CN=d2']);
    await expectRefused(csr.stdout, 'd2', 'CSR_KEY_TOO_WEAK');
  });

  it('secp256k1: CSR_KEY_CURVE_UNSUPPORTED', async () => {
    const csr = opensslCsr('/CN=d3', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1']);
    await expectRefused(csr, 'd3', 'CSR_KEY_CURVE_UNSUPPORTED');
  });

  it('Ed25519: CSR_KEY_UNSUPPORTED', async () => {
    await expectRefused(opensslCsr('/CN=d4', ['-newkey', 'ed25519']), 'd4', 'CSR_KEY_UNSUPPORTED');
  });

  it('a broken signature (one flipped byte): CSR_SIGNATURE_INVALID', async () => {
    const der = Buffer.from(decodeCsrPem(opensslCsr('/CN=d5')));
    der[der.length - 5]! ^= 0x01; // inside the ECDSA s value
    await expectRefused(pemOf(der), 'd5', 'CSR_SIGNATURE_INVALID');
  });

  it('a changed subject under the original signature: CSR_SIGNATURE_INVALID', async () => {
    const der = Buffer.from(decodeCsrPem(opensslCsr('/CN=d6')));
    const at = der.indexOf(Buffer.from('d6'));
    der[at + 1] = '7'.charCodeAt(0);
    await expectRefused(pemOf(der), 'd7', 'CSR_SIGNATURE_INVALID');
  });

  it('SHA-1 or RSA-PSS signatures: CSR_SIGNATURE_ALGORITHM_UNSUPPORTED', async () => {
    await expectRefused(
      opensslCsr('/CN=d8', ['-newkey', 'rsa:2048', '-sha1']),
      'd8',
      'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED',
    );
    await expectRefused(
      opensslCsr('/CN=d8', ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss']),
      'd8',
      'CSR_SIGNATURE_ALGORITHM_UNSUPPORTED',
    );
  });

  it('CN other than the device id, no CN, or two CNs: CSR_SUBJECT_MISMATCH', async () => {
    await expectRefused(opensslCsr('/CN=someone-else'), 'd9', 'CSR_SUBJECT_MISMATCH');
    await expectRefused(opensslCsr('/CN=D9'), 'd9', 'CSR_SUBJECT_MISMATCH');
    await expectRefused(opensslCsr('/O=Clinic'), 'd9', 'CSR_SUBJECT_MISMATCH');
    await expectRefused(opensslCsr('/CN=d9/CN=admin'), 'd9', 'CSR_SUBJECT_MISMATCH');
  });

  it('a DNS SAN, another URI, or an extra URI: CSR_EXTENSION_NOT_ALLOWED', async () => {
    for (const san of [
      'DNS:hub.example.org',
      'URI:urn:vitalgate:device:other',
      'URI:urn:vitalgate:device:d10,URI:urn:vitalgate:device:other',
      'URI:urn:vitalgate:device:d10,IP:10.0.0.1',
    ]) {
      await expectRefused(
        opensslCsr('/CN=d10', P256, ['-addext', `subjectAltName=${san}`]),
        'd10',
        'CSR_EXTENSION_NOT_ALLOWED',
      );
    }
  });

  it('a CA basic constraint or key usage request: CSR_EXTENSION_NOT_ALLOWED', async () => {
    for (const ext of [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=keyCertSign',
      'extendedKeyUsage=serverAuth',
    ]) {
      await expectRefused(opensslCsr('/CN=d11', P256, ['-addext', ext]), 'd11', 'CSR_EXTENSION_NOT_ALLOWED');
    }
  });

  it('oversized, garbage, truncated, trailing-data, doubled and non-string PEM: CSR_MALFORMED', async () => {
    const good = opensslCsr('/CN=d12');
    const der = Buffer.from(decodeCsrPem(good));
    const inputs: unknown[] = [
      `-----BEGIN CERTIFICATE REQUEST-----\n${'QUFB\n'.repeat(MAX_CSR_PEM_BYTES / 5)}-----END CERTIFICATE REQUEST-----\n`,
      'hello',
      '',
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
      '-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----',
      good.replace('BEGIN CERTIFICATE REQUEST', 'BEGIN CERTIFICATE'),
      pemOf(der.subarray(0, der.length - 10)),
      pemOf(Buffer.concat([der, Buffer.from([0x05, 0x00])])),
      `${good}${good}`,
      readFileSync('/dev/null'),
      { csr: good },
      42,
      undefined,
    ];
    for (const input of inputs) await expectRefused(input, 'd12', 'CSR_MALFORMED');
  });

  it('a non-minimal (BER) length encoding: CSR_MALFORMED', async () => {
    const der = Buffer.from(decodeCsrPem(opensslCsr('/CN=d13')));
    // Re-encode the outer SEQUENCE length with one more length octet than DER allows.
    expect(der[1]).toBe(0x81);
    const ber = Buffer.concat([Buffer.from([0x30, 0x82, 0x00, der[2]!]), der.subarray(3)]);
    await expectRefused(pemOf(ber), 'd13', 'CSR_MALFORMED');
  });

  it('an invalid device id is a caller error: DEVICE_ID_INVALID', async () => {
    await expectRefused(opensslCsr('/CN=a b'), 'a b', 'DEVICE_ID_INVALID');
  });
});
