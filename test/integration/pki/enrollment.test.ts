// Enrollment refusals: each hostile CSR or bad token is refused with its code, and nothing is
// issued, spent or activated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { x509 } from '../../../pki/crypto-provider.js';
import { createTestPki, makeCsr, type TestPki } from '../../support/hub-pki.js';
import { openssl, writeFiles } from '../../support/openssl.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki.cleanup());

let n = 0;
function pendingDevice(): { id: string; token: string } {
  const id = `dev-${++n}`;
  pki.store.devices.add({ id, kind: 'wearable' });
  return { id, token: pki.tokens.issue(id, 3_600_000, 'test').token };
}

function opensslCsr(id: string, keyArgs: string[], extra: string[] = []): string {
  const f = writeFiles({});
  const out = openssl([
    'req',
    '-new',
    ...keyArgs,
    '-nodes',
    '-keyout',
    `${f.dir}/k.pem`,
    '-subj',
    `/CN=${id}`,
    ...extra,
  ]);
  expect(out.status, out.stderr).toBe(0);
  return out.stdout;
}

function expectNothingGranted(id: string) {
  expect(pki.store.certificates.listForDevice(id)).toEqual([]);
  expect(pki.store.devices.require(id).status).toBe('pending');
}

async function expectRefused(id: string, token: string, csr: unknown, code: string) {
  await expect(pki.enrollment.enroll(token, csr)).rejects.toMatchObject({ code });
  expectNothingGranted(id);
  const denial = pki.store.audit.list({ target: `device:${id}`, outcome: 'denied' })[0];
  expect(denial?.details).toMatchObject({ code: expect.any(String) });
}

describe('enrollment with CSRs made by openssl req', () => {
  it('accepts an ECDSA P-256 key and activates the device; the token is then spent', async () => {
    const { id, token } = pendingDevice();
    const csr = opensslCsr(id, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const issued = await pki.enrollment.enroll(token, csr, { source: '127.0.0.1' });
    expect(issued.deviceId).toBe(id);
    expect(new x509.X509Certificate(issued.certificatePem).subject).toBe(`CN=${id}`);
    expect(pki.store.devices.require(id)).toMatchObject({ status: 'active', currentSerial: issued.serial });
    await expect(pki.enrollment.enroll(token, csr)).rejects.toMatchObject({
      code: 'ENROLLMENT_TOKEN_INVALID',
    });
    expect(pki.store.certificates.listForDevice(id)).toHaveLength(1);
  });

  it('accepts P-384 and RSA-2048 keys', async () => {
    for (const args of [
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
      ['-newkey', 'rsa:2048'],
    ]) {
      const { id, token } = pendingDevice();
      await pki.enrollment.enroll(token, opensslCsr(id, args));
      expect(pki.store.devices.require(id).status).toBe('active');
    }
  });
});

describe('hostile CSRs are refused with a coded reason and nothing is issued', () => {
  it('RSA-1024', async () => {
    const { id, token } = pendingDevice();
    await expectRefused(id, token, opensslCsr(id, ['-newkey', 'rsa:1024']), 'CSR_KEY_TOO_WEAK');
  });

  it('an unsupported curve (secp256k1)', async () => {
    const { id, token } = pendingDevice();
    await expectRefused(
      id,
      token,
      opensslCsr(id, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1']),
      'CSR_KEY_CURVE_UNSUPPORTED',
    );
  });

  it('a broken signature', async () => {
    const { id, token } = pendingDevice();
    const pem = opensslCsr(id, ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 5]! ^= 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expectRefused(id, token, tampered, 'CSR_SIGNATURE_INVALID');
  });

  it('CN different from the device id', async () => {
    const { id, token } = pendingDevice();
    await expectRefused(id, token, (await makeCsr('someone-else')).csrPem, 'CSR_SUBJECT_MISMATCH');
  });

  it('extra SANs', async () => {
    const { id, token } = pendingDevice();
    const csr = opensslCsr(
      id,
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      ['-addext', 'subjectAltName=DNS:hub.example.org'],
    );
    await expectRefused(id, token, csr, 'CSR_EXTENSION_NOT_ALLOWED');
    const { id: id2, token: token2 } = pendingDevice();
    const csr2 = opensslCsr(
      id2,
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      ['-addext', `subjectAltName=URI:urn:vitalgate:device:${id2},URI:urn:vitalgate:device:other`],
    );
    await expectRefused(id2, token2, csr2, 'CSR_EXTENSION_NOT_ALLOWED');
  });

  it('a CA basic constraint request', async () => {
    const { id, token } = pendingDevice();
    const csr = opensslCsr(
      id,
      ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
      ['-addext', 'basicConstraints=critical,CA:TRUE'],
    );
    await expectRefused(id, token, csr, 'CSR_EXTENSION_NOT_ALLOWED');
  });

  it('oversized or garbage PEM, and non-strings', async () => {
    const { id, token } = pendingDevice();
    await expectRefused(
      id,
      token,
      `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(20_000)}\n-----END CERTIFICATE REQUEST-----`,
      'CSR_MALFORMED',
    );
    await expectRefused(id, token, 'hello', 'CSR_MALFORMED');
    await expectRefused(
      id,
      token,
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
      'CSR_MALFORMED',
    );
    await expectRefused(id, token, { csr: 1 }, 'CSR_MALFORMED');
    // The token survived all the refusals: a device with a bad CSR can retry.
    await pki.enrollment.enroll(token, (await makeCsr(id)).csrPem);
    expect(pki.store.devices.require(id).status).toBe('active');
  });
});

describe('bad tokens are refused and nothing is issued', () => {
  it('an unknown token', async () => {
    const { id } = pendingDevice();
    await expect(
      pki.enrollment.enroll('vgt_doesnotexistdoesnotexist', (await makeCsr(id)).csrPem),
    ).rejects.toMatchObject({
      code: 'ENROLLMENT_TOKEN_INVALID',
    });
    expectNothingGranted(id);
    expect(pki.store.audit.list({ target: 'device:unknown', outcome: 'denied' })[0]?.details).toMatchObject({
      cause: 'unknown',
    });
  });

  it("another device's token", async () => {
    const a = pendingDevice();
    const b = pendingDevice();
    await expect(
      pki.enrollment.enroll(a.token, (await makeCsr(b.id)).csrPem, { deviceId: b.id }),
    ).rejects.toMatchObject({
      code: 'ENROLLMENT_TOKEN_INVALID',
    });
    expectNothingGranted(a.id);
    expectNothingGranted(b.id);
  });

  it('an expired token', async () => {
    const id = `dev-${++n}`;
    pki.store.devices.add({ id, kind: 'wearable' });
    const { token } = pki.tokens.issue(id, 1, 'test');
    await new Promise((r) => setTimeout(r, 5));
    await expectRefused(id, token, (await makeCsr(id)).csrPem, 'ENROLLMENT_TOKEN_INVALID');
  });

  it('a token voided by a newer one', async () => {
    const { id, token } = pendingDevice();
    pki.tokens.issue(id, 3_600_000, 'test');
    await expectRefused(id, token, (await makeCsr(id)).csrPem, 'ENROLLMENT_TOKEN_INVALID');
  });

  it('two concurrent uses of one token: exactly one certificate', async () => {
    const { id, token } = pendingDevice();
    const [a, b] = await Promise.all([makeCsr(id), makeCsr(id)]);
    const results = await Promise.allSettled([
      pki.enrollment.enroll(token, a.csrPem),
      pki.enrollment.enroll(token, b.csrPem),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'ENROLLMENT_TOKEN_INVALID' });
    expect(pki.store.certificates.listForDevice(id)).toHaveLength(1);
  });

  it('a token for a device that was revoked meanwhile', async () => {
    const { id, token } = pendingDevice();
    pki.store.devices.setStatus(id, 'revoked', 'lost');
    await expect(pki.enrollment.enroll(token, (await makeCsr(id)).csrPem)).rejects.toMatchObject({
      code: 'DEVICE_NOT_ENROLLABLE',
    });
    expect(pki.store.certificates.listForDevice(id)).toEqual([]);
  });
});

describe('renewal', () => {
  it('issues a new certificate and retires the old one after the grace period', async () => {
    const dev = await pki.issueDevice('renew-1', 'thermometer');
    const renewed = await pki.enrollment.renew('renew-1', dev.serial, (await makeCsr('renew-1')).csrPem);
    expect(renewed.serial).not.toBe(dev.serial);
    expect(pki.store.devices.require('renew-1').currentSerial).toBe(renewed.serial);
    const old = pki.store.certificates.get(dev.serial)!;
    expect(old.status).toBe('superseded');
    expect(old.graceUntil! - Date.now()).toBeGreaterThan(500_000);
    expect(await pki.authority.retireSupersededCertificates()).toEqual([]);
    pki.store.db
      .prepare('UPDATE certificates SET grace_until = ? WHERE serial = ?')
      .run(Date.now() - 1, dev.serial);
    expect(await pki.authority.retireSupersededCertificates()).toEqual([dev.serial]);
    expect(pki.authority.certificateStatus(dev.serial)).toMatchObject({
      status: 'revoked',
      reason: 'superseded',
    });
    await expect(
      pki.enrollment.renew('renew-1', dev.serial, (await makeCsr('renew-1')).csrPem),
    ).rejects.toMatchObject({
      code: 'CERTIFICATE_NOT_CURRENT',
    });
  });

  it('is refused for a device that is not active', async () => {
    const dev = await pki.issueDevice('renew-2', 'thermometer');
    pki.store.devices.setStatus('renew-2', 'quarantined', 'test');
    await expect(
      pki.enrollment.renew('renew-2', dev.serial, (await makeCsr('renew-2')).csrPem),
    ).rejects.toMatchObject({
      code: 'DEVICE_NOT_ACTIVE',
    });
    expect(pki.store.certificates.listForDevice('renew-2')).toHaveLength(1);
  });
});
