// Revocation of client certificates as the broker checks it: CRLs verified once when loaded,
// then per handshake the leaf against its issuer's CRL and each CA against the CRL above it, with
// OpenSSL's CRL_CHECK_ALL rules (every CA on the path needs a CRL in force).
import { beforeAll, describe, expect, it } from 'vitest';
import { ClientRevocation } from '../../../broker/revocation.js';
import { buildRevocationList, type RevokedEntry } from '../../../pki/crl.js';
import { generateKeyPair } from '../../../pki/crypto-provider.js';
import { issueCertificate, type IssuedCertificate } from '../../../pki/profiles.js';
import { createTestCa, type TestCa } from '../pki/ca-fixture.js';

const now = Date.now();
const DAY = 86_400_000;
let ca: TestCa;
let other: TestCa;
let good: IssuedCertificate;
let bad: IssuedCertificate;

async function issueDevice(id: string, from: TestCa = ca): Promise<IssuedCertificate> {
  return issueCertificate({
    profile: 'device',
    subject: id,
    publicKey: (await generateKeyPair()).publicKey,
    issuerCert: from.issuing.certificate,
    issuerKey: from.issuingKey,
    urls: from.urls,
    now,
  });
}

const revokedEntry = (serial: string): RevokedEntry => ({
  serial,
  revokedAt: now - 1000,
  reason: 'keyCompromise',
});

async function issuingCrl(entries: RevokedEntry[] = [], at = now, validityMs = DAY, from: TestCa = ca) {
  return (await buildRevocationList({ issuer: from.issuer, number: 1, entries, now: at, validityMs })).pem;
}

async function rootCrl(entries: RevokedEntry[] = [], at = now, validityMs = DAY, from: TestCa = ca) {
  const issuer = { certificate: from.root.certificate, key: from.rootKey };
  return (await buildRevocationList({ issuer, number: 1, entries, now: at, validityMs })).pem;
}

const check = (r: ClientRevocation, cert: IssuedCertificate, at = now) =>
  r.check(cert.der, cert.serial.toUpperCase(), at);

beforeAll(async () => {
  ca = await createTestCa(now - DAY);
  other = await createTestCa(now - DAY);
  [good, bad] = await Promise.all([issueDevice('wear-good'), issueDevice('wear-bad')]);
});

describe('ClientRevocation', () => {
  it('refuses a listed certificate and lets the others through', async () => {
    const r = ClientRevocation.load(ca.chainPem, [
      await issuingCrl([revokedEntry(bad.serial)]),
      await rootCrl(),
    ]);
    expect(check(r, good)).toBeUndefined();
    expect(check(r, bad)).toEqual({ code: 'CERTIFICATE_REVOKED', cause: 'CERT_REVOKED' });
    // Serials compare as numbers: Node gives upper-case hex, sometimes with a leading zero byte.
    expect(r.check(bad.der, `00${bad.serial}`, now)).toMatchObject({ code: 'CERTIFICATE_REVOKED' });
  });

  it('refuses every certificate under an issuing CA that the root CRL lists', async () => {
    const r = ClientRevocation.load(ca.chainPem, [
      await issuingCrl(),
      await rootCrl([revokedEntry(ca.issuing.serial)]),
    ]);
    expect(check(r, good)).toEqual({ code: 'CERTIFICATE_REVOKED', cause: 'CERT_REVOKED' });
  });

  it('needs a CRL of every CA on the path, as OpenSSL with CRL_CHECK_ALL does', async () => {
    const unavailable = { code: 'CRL_UNAVAILABLE', cause: 'UNABLE_TO_GET_CRL' };
    expect(check(ClientRevocation.load(ca.chainPem, [await issuingCrl()]), good)).toEqual(unavailable);
    expect(check(ClientRevocation.load(ca.chainPem, [await rootCrl()]), good)).toEqual(unavailable);
    expect(check(ClientRevocation.load(ca.chainPem, []), good)).toEqual(unavailable);
  });

  it('refuses while a CRL on the path has expired or is not in force yet', async () => {
    const r = ClientRevocation.load(ca.chainPem, [
      await issuingCrl([], now, DAY),
      await rootCrl([], now, 7 * DAY),
    ]);
    expect(check(r, good, now + DAY - 1000)).toBeUndefined();
    expect(check(r, good, now + DAY + 1000)).toEqual({ code: 'CRL_UNAVAILABLE', cause: 'CRL_HAS_EXPIRED' });
    const early = ClientRevocation.load(ca.chainPem, [await issuingCrl(), await rootCrl([], now + 60_000)]);
    expect(check(early, good)).toEqual({ code: 'CRL_UNAVAILABLE', cause: 'CRL_NOT_YET_VALID' });
  });

  it('uses the newest CRL when a CA has several', async () => {
    const older = await issuingCrl([], now - 60_000);
    const newer = await issuingCrl([revokedEntry(bad.serial)]);
    const r = ClientRevocation.load(ca.chainPem, [newer, older, await rootCrl()]);
    expect(check(r, bad)).toMatchObject({ code: 'CERTIFICATE_REVOKED' });
  });

  it('refuses to load a CRL that is not signed by a CA of the bundle, or is no CRL', async () => {
    // Same subject names, other keys: a forged CRL that would un-revoke a certificate.
    const forged = await issuingCrl([], now, DAY, other);
    const root = await rootCrl();
    expect(() => ClientRevocation.load(ca.chainPem, [forged, root])).toThrow(/not signed/);
    expect(() =>
      ClientRevocation.load(ca.chainPem, ['-----BEGIN X509 CRL-----\nnot a crl\n-----END X509 CRL-----\n']),
    ).toThrow();
    expect(() => ClientRevocation.load(ca.chainPem, ['no pem at all'])).not.toThrow(); // no CRL: connects fail
  });

  it('refuses a certificate whose issuer is no CA of the bundle as having no CRL', async () => {
    const r = ClientRevocation.load(ca.chainPem, [await issuingCrl(), await rootCrl()]);
    const keys = await generateKeyPair('P-256');
    const elsewhere = await issueCertificate({
      profile: 'root-ca',
      subject: 'Elsewhere CA',
      publicKey: keys.publicKey,
      issuerKey: keys.privateKey,
      now,
    });
    const foreign = await issueCertificate({
      profile: 'device',
      subject: 'wear-foreign',
      publicKey: (await generateKeyPair()).publicKey,
      issuerCert: elsewhere.certificate,
      issuerKey: keys.privateKey,
      urls: ca.urls,
      now,
    });
    expect(check(r, foreign)).toEqual({ code: 'CRL_UNAVAILABLE', cause: 'UNABLE_TO_GET_CRL' });
    expect(r.check(Buffer.from('not a certificate'), '01', now)).toMatchObject({ code: 'CRL_UNAVAILABLE' });
  });
});
