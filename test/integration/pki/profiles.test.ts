// Certificates from the stateless profiles, checked by the real openssl CLI and by three
// independent parsers (@peculiar/x509, pkijs, node:crypto).
import { X509Certificate as NodeX509, createPublicKey, generateKeyPairSync } from 'node:crypto';
import * as pkijs from 'pkijs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, x509 } from '../../../pki/crypto-provider.js';
import { acceptDeviceCsr } from '../../../pki/csr.js';
import {
  CLOCK_SKEW_MS,
  EKU_COMMAND_SIGNING,
  issueCertificate,
  normalizeSerial,
  randomSerial,
  type IssuedCertificate,
} from '../../../pki/profiles.js';
import { openssl, writeFiles } from '../../support/openssl.js';
import { createTestCa, deviceCsr, type TestCa } from '../../unit/pki/ca-fixture.js';

const DAY = 86_400_000;
let ca: TestCa;
let device: IssuedCertificate;
const now = Date.now();

beforeAll(async () => {
  ca = await createTestCa(now);
  const { csrPem } = await deviceCsr('wear-001');
  const accepted = await acceptDeviceCsr(csrPem, 'wear-001');
  device = await issueCertificate({
    profile: 'device',
    subject: 'wear-001',
    publicKey: accepted.spki,
    issuerCert: ca.issuing.certificate,
    issuerKey: ca.issuingKey,
    urls: ca.urls,
    now,
  });
});

function verifyChain(leafPem: string, purpose: string, extra: string[] = []) {
  const f = writeFiles({ 'root.pem': ca.root.pem, 'issuing.pem': ca.issuing.pem, 'leaf.pem': leafPem });
  return openssl([
    'verify',
    '-CAfile',
    f['root.pem']!,
    '-untrusted',
    f['issuing.pem']!,
    '-purpose',
    purpose,
    ...extra,
    f['leaf.pem']!,
  ]);
}

const text = (pem: string) => openssl(['x509', '-noout', '-text'], pem).stdout;

describe('device certificate (SPEC §3)', () => {
  it('verifies with openssl verify -CAfile root -untrusted issuing, for TLS client auth', () => {
    const out = verifyChain(device.pem, 'sslclient');
    expect(out.stdout + out.stderr).toContain(': OK');
    expect(out.status).toBe(0);
  });

  it('is refused for TLS server auth', () => {
    expect(verifyChain(device.pem, 'sslserver').status).not.toBe(0);
  });

  it('carries exactly the specified extensions', () => {
    const t = text(device.pem);
    expect(t).toContain('Subject: CN = wear-001\n');
    expect(t).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(t).toMatch(/Key Usage: critical\s+Digital Signature, Key Agreement\n/);
    expect(t).toMatch(/Extended Key Usage: \s+TLS Web Client Authentication\n/);
    expect(t).toMatch(/Subject Alternative Name: \s+URI:urn:vitalgate:device:wear-001\n/);
    expect(t).toContain('URI:https://hub.test:8443/pki/crl');
    expect(t).toContain('OCSP - URI:https://hub.test:8443/pki/ocsp');
    expect(t).toContain('ASN1 OID: prime256v1');
    expect(t).toContain('Signature Algorithm: ecdsa-with-SHA256');
    const cert = device.certificate;
    expect(cert.extensions.map((e) => e.type).sort()).toEqual(
      [
        '1.3.6.1.5.5.7.1.1', // AIA
        '2.5.29.14', // SKI
        '2.5.29.15', // key usage
        '2.5.29.17', // SAN
        '2.5.29.19', // basic constraints
        '2.5.29.31', // CRL DP
        '2.5.29.35', // AKI
        '2.5.29.37', // EKU
      ].sort(),
    );
  });

  it('has AKI = the issuing CA SKI, and SKI = SHA-1 of its own key (RFC 5280 method 1)', async () => {
    const aki = device.certificate.getExtension(x509.AuthorityKeyIdentifierExtension)!;
    const issuerSki = ca.issuing.certificate.getExtension(x509.SubjectKeyIdentifierExtension)!;
    expect(aki.keyId).toBe(issuerSki.keyId);
    const expected = await x509.SubjectKeyIdentifierExtension.create(device.certificate.publicKey);
    expect(device.certificate.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId).toBe(expected.keyId);
  });

  it('has a random positive 128-bit serial', () => {
    const serials = new Set(Array.from({ length: 200 }, () => randomSerial()));
    expect(serials.size).toBe(200);
    for (const s of serials) {
      expect(s).toMatch(/^[0-9a-f]+$/);
      expect(s.startsWith('00')).toBe(false); // minimal: no leading zero byte
      expect(BigInt(`0x${s}`) > 0n && BigInt(`0x${s}`) < 1n << 128n).toBe(true);
    }
    // Both halves of the range occur: no bit is forced.
    expect([...serials].some((s) => s.length === 32 && parseInt(s[0]!, 16) >= 8)).toBe(true);
    const node = new NodeX509(device.pem);
    expect(normalizeSerial(node.serialNumber)).toBe(device.serial);
    expect(normalizeSerial(device.certificate.serialNumber)).toBe(device.serial);
  });

  it('is valid 90 days by default, with notBefore backdated 5 minutes', () => {
    expect(device.notBefore.getTime()).toBe(Math.floor((now - CLOCK_SKEW_MS) / 1000) * 1000);
    expect(device.notAfter.getTime()).toBe(Math.floor((now + 90 * DAY) / 1000) * 1000);
    expect(device.certificate.notAfter.getTime()).toBe(device.notAfter.getTime());
  });

  it('takes a configured validity, and never outlives its issuer', async () => {
    const { keys } = await deviceCsr('wear-002');
    const short = await issueCertificate({
      profile: 'device',
      subject: 'wear-002',
      publicKey: keys.publicKey,
      issuerCert: ca.issuing.certificate,
      issuerKey: ca.issuingKey,
      urls: ca.urls,
      validityDays: 7,
      now,
    });
    expect(short.notAfter.getTime() - now).toBeLessThanOrEqual(7 * DAY);
    expect(short.notAfter.getTime() - now).toBeGreaterThan(7 * DAY - 1000);
    const long = await issueCertificate({
      profile: 'device',
      subject: 'wear-002',
      publicKey: keys.publicKey,
      issuerCert: ca.issuing.certificate,
      issuerKey: ca.issuingKey,
      urls: ca.urls,
      validityDays: 5000,
      now,
    });
    expect(long.notAfter.getTime()).toBe(ca.issuing.notAfter.getTime());
  });

  it('uses keyEncipherment instead of keyAgreement for an RSA key, and P-384 keys work', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const rsaCert = await issueCertificate({
      profile: 'device',
      subject: 'bp-rsa',
      publicKey: rsa,
      issuerCert: ca.issuing.certificate,
      issuerKey: ca.issuingKey,
      urls: ca.urls,
      now,
    });
    expect(text(rsaCert.pem)).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    expect(verifyChain(rsaCert.pem, 'sslclient').status).toBe(0);
    const p384 = await issueCertificate({
      profile: 'device',
      subject: 'bp-384',
      publicKey: (await generateKeyPair('P-384')).publicKey,
      issuerCert: ca.issuing.certificate,
      issuerKey: ca.issuingKey,
      urls: ca.urls,
      now,
    });
    expect(verifyChain(p384.pem, 'sslclient').status).toBe(0);
  });

  it('parses identically with pkijs and node:crypto, and verifies against the issuing CA key', () => {
    const viaPkijs = pkijs.Certificate.fromBER(device.der);
    expect(Buffer.from(viaPkijs.toSchema(true).toBER(false)).equals(Buffer.from(device.der))).toBe(true);
    const node = new NodeX509(device.pem);
    expect(node.checkIssued(new NodeX509(ca.issuing.pem))).toBe(true);
    expect(node.verify(createPublicKey(ca.issuing.pem))).toBe(true);
    expect(node.subjectAltName).toBe('URI:urn:vitalgate:device:wear-001');
    expect(node.toString()).toBe(device.pem);
  });
});

describe('CA profiles', () => {
  it('root: self-signed, CA:TRUE, keyCertSign + cRLSign, 10 years, P-384 with SHA-384', () => {
    const t = text(ca.root.pem);
    expect(t).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(t).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(t).toContain('Signature Algorithm: ecdsa-with-SHA384');
    expect(t).toContain('Subject: O = VitalGate, CN = Test Root CA');
    expect(t).toContain('Issuer: O = VitalGate, CN = Test Root CA');
    const years = (ca.root.notAfter.getTime() - now) / (365 * DAY);
    expect(years).toBeCloseTo(10, 1);
    const f = writeFiles({ 'root.pem': ca.root.pem });
    expect(openssl(['verify', '-CAfile', f['root.pem']!, f['root.pem']!]).status).toBe(0);
  });

  it('issuing CA: pathlen 0, 5 years, AKI = root SKI, issuer name copied byte for byte', () => {
    const t = text(ca.issuing.pem);
    expect(t).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(t).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect((ca.issuing.notAfter.getTime() - now) / (365 * DAY)).toBeCloseTo(5, 1);
    const root = pkijs.Certificate.fromBER(ca.root.der);
    const issuing = pkijs.Certificate.fromBER(ca.issuing.der);
    expect(
      Buffer.from(issuing.issuer.toSchema().toBER(false)).equals(
        Buffer.from(root.subject.toSchema().toBER(false)),
      ),
    ).toBe(true);
    expect(verifyChain(ca.issuing.pem, 'any').status).toBe(0);
  });

  it('a certificate issued under the issuing CA cannot itself issue (pathlen 0, CA:FALSE)', async () => {
    await expect(
      issueCertificate({
        profile: 'device',
        subject: 'x',
        publicKey: (await generateKeyPair()).publicKey,
        issuerCert: device.certificate,
        issuerKey: ca.issuingKey,
        urls: ca.urls,
      }),
    ).rejects.toMatchObject({ code: 'PROFILE_ISSUER_NOT_CA' });
  });
});

describe('server and command-signer profiles', () => {
  it('server: serverAuth, DNS and IP SANs from config; openssl checks host and IP', async () => {
    const server = await issueCertificate({
      profile: 'server',
      subject: 'hub.example.org',
      publicKey: (await generateKeyPair()).publicKey,
      issuerCert: ca.issuing.certificate,
      issuerKey: ca.issuingKey,
      urls: ca.urls,
      sans: ['hub.example.org', 'localhost', '127.0.0.1', '::1', '2001:db8::7'],
      now,
    });
    const t = text(server.pem);
    expect(t).toMatch(/Extended Key Usage: \s+TLS Web Server Authentication\n/);
    expect(t).toContain(
      'DNS:hub.example.org, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:7',
    );
    expect(verifyChain(server.pem, 'sslserver', ['-verify_hostname', 'hub.example.org']).status).toBe(0);
    expect(verifyChain(server.pem, 'sslserver', ['-verify_ip', '2001:db8::7']).status).toBe(0);
    expect(verifyChain(server.pem, 'sslserver', ['-verify_hostname', 'evil.example.org']).status).not.toBe(0);
    expect(verifyChain(server.pem, 'sslclient').status).not.toBe(0);
  });

  it('command signer: digitalSignature only and the private-use EKU, usable for neither TLS role', async () => {
    const signer = await issueCertificate({
      profile: 'command-signer',
      subject: 'VitalGate Command Signer',
      publicKey: (await generateKeyPair()).publicKey,
      issuerCert: ca.issuing.certificate,
      issuerKey: ca.issuingKey,
      urls: ca.urls,
      now,
    });
    const t = text(signer.pem);
    expect(t).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(t).toContain(EKU_COMMAND_SIGNING);
    expect(verifyChain(signer.pem, 'any').status).toBe(0);
    expect(verifyChain(signer.pem, 'sslclient').status).not.toBe(0);
    expect(verifyChain(signer.pem, 'sslserver').status).not.toBe(0);
  });
});

describe('profile inputs are checked', () => {
  const base = async () => ({
    publicKey: (await generateKeyPair()).publicKey,
    issuerCert: ca.issuing.certificate,
    issuerKey: ca.issuingKey,
    urls: ca.urls,
  });

  it('a device id that could smuggle a DN or SAN is refused', async () => {
    for (const subject of ['a, O=Evil', 'dev/../x', '', 'x'.repeat(65), 'dev\nCN=root']) {
      await expect(issueCertificate({ profile: 'device', subject, ...(await base()) })).rejects.toMatchObject(
        {
          code: 'PROFILE_INVALID',
        },
      );
    }
  });

  it('SANs on a device, bad server names, missing URLs and bad validity are refused', async () => {
    const b = await base();
    const cases = [
      { profile: 'device', subject: 'd1', sans: ['evil.example.org'] },
      { profile: 'server', subject: 's', sans: [] },
      { profile: 'server', subject: 's', sans: ['bad name'] },
      { profile: 'server', subject: 's', sans: ['exa_mple.org'] },
      { profile: 'device', subject: 'd1', urls: undefined },
      { profile: 'device', subject: 'd1', urls: { crl: 'ftp://x', ocsp: 'https://x' } },
      { profile: 'device', subject: 'd1', validityDays: 0 },
      { profile: 'device', subject: 'd1', validityDays: Number.NaN },
    ] as const;
    for (const c of cases) {
      await expect(issueCertificate({ ...b, ...c })).rejects.toMatchObject({ code: 'PROFILE_INVALID' });
    }
  });

  it('a public key that is not a SubjectPublicKeyInfo, or a root whose key is not its signer’s', async () => {
    const b = await base();
    await expect(
      issueCertificate({
        profile: 'device',
        subject: 'd3',
        ...b,
        publicKey: Uint8Array.of(0x30, 0x03, 1, 2, 3),
      }),
    ).rejects.toMatchObject({ code: 'PROFILE_INVALID' });
    const other = await generateKeyPair('P-384');
    await expect(
      issueCertificate({
        profile: 'root-ca',
        subject: 'R',
        publicKey: other.publicKey,
        issuerKey: ca.rootKey,
      }),
    ).rejects.toMatchObject({ code: 'PROFILE_INVALID' });
  });

  it('an issuer key that is not the issuer certificate’s is refused', async () => {
    await expect(
      issueCertificate({ profile: 'device', subject: 'd2', ...(await base()), issuerKey: ca.rootKey }),
    ).rejects.toMatchObject({ code: 'PROFILE_ISSUER_KEY_MISMATCH' });
  });
});
