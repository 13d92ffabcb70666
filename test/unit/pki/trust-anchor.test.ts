// The issuing CA's self-signed twin: the same CA to OpenSSL (name, key, key identifier, validity,
// constraints), a chain that ends there, and nothing else trusted through it.
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, x509 } from '../../../pki/crypto-provider.js';
import { issueCertificate, type IssuedCertificate } from '../../../pki/profiles.js';
import { selfSignedTwin } from '../../../pki/trust-anchor.js';
import { openssl, writeFiles } from '../../support/openssl.js';
import { createTestCa, type TestCa } from './ca-fixture.js';

let ca: TestCa;
let other: TestCa;
let device: IssuedCertificate;
let twinPem: string;

beforeAll(async () => {
  [ca, other] = await Promise.all([createTestCa(), createTestCa()]);
  device = await issueCertificate({
    profile: 'device',
    subject: 'wear-1',
    publicKey: (await generateKeyPair()).publicKey,
    issuerCert: ca.issuing.certificate,
    issuerKey: ca.issuingKey,
    urls: ca.urls,
  });
  twinPem = selfSignedTwin(ca.issuer);
});

describe('selfSignedTwin', () => {
  it('is the issuing CA re-signed by its own key', () => {
    const twin = new X509Certificate(twinPem);
    const issuing = new X509Certificate(ca.issuing.pem);
    expect(twin.subject).toBe(issuing.subject);
    expect(twin.issuer).toBe(issuing.subject);
    expect(twin.publicKey.equals(issuing.publicKey)).toBe(true);
    expect(twin.verify(issuing.publicKey)).toBe(true);
    expect([twin.validFrom, twin.validTo]).toEqual([issuing.validFrom, issuing.validTo]);
    expect(twin.ca).toBe(true);
    const ski = (pem: string) =>
      new x509.X509Certificate(pem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(ski(twinPem)).toBe(ski(ca.issuing.pem));
    expect(twin.serialNumber).not.toBe(issuing.serialNumber);
  });

  it('ends the chain of a device certificate for OpenSSL, and of nothing from another CA', async () => {
    const foreign = await issueCertificate({
      profile: 'device',
      subject: 'wear-2',
      publicKey: (await generateKeyPair()).publicKey,
      issuerCert: other.issuing.certificate,
      issuerKey: other.issuingKey,
      urls: other.urls,
    });
    const f = writeFiles({ 'twin.pem': twinPem, 'device.pem': device.pem, 'foreign.pem': foreign.pem });
    const ok = openssl(['verify', '-purpose', 'sslclient', '-CAfile', f['twin.pem']!, f['device.pem']!]);
    expect(ok.stdout).toMatch(/device\.pem: OK/);
    const refused = openssl([
      'verify',
      '-purpose',
      'sslclient',
      '-CAfile',
      f['twin.pem']!,
      f['foreign.pem']!,
    ]);
    expect(refused.stdout + refused.stderr).toMatch(
      /certificate signature failure|unable to get local issuer/,
    );
  });
});
