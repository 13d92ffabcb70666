// CRLs, OCSP responses and EST certs-only PKCS#7 from the stateless core, checked by openssl.
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, x509 } from '../../../pki/crypto-provider.js';
import { buildRevocationList, type RevokedEntry } from '../../../pki/crl.js';
import { OcspResponder, type CertificateStatusAnswer } from '../../../pki/ocsp.js';
import { certsOnlyPkcs7, certsOnlyPkcs7Base64 } from '../../../pki/pkcs7.js';
import { issueCertificate, type IssuedCertificate } from '../../../pki/profiles.js';
import { openssl, writeFiles } from '../../support/openssl.js';
import { createTestCa, type TestCa } from '../../unit/pki/ca-fixture.js';

let ca: TestCa;
let good: IssuedCertificate;
let revoked: IssuedCertificate;
let unspecified: IssuedCertificate;
const now = Date.now();
const revokedAt = now - 3_600_000;

async function issueDevice(id: string): Promise<IssuedCertificate> {
  return issueCertificate({
    profile: 'device',
    subject: id,
    publicKey: (await generateKeyPair()).publicKey,
    issuerCert: ca.issuing.certificate,
    issuerKey: ca.issuingKey,
    urls: ca.urls,
    now,
  });
}

beforeAll(async () => {
  ca = await createTestCa(now - 86_400_000);
  [good, revoked, unspecified] = await Promise.all([
    issueDevice('ox-good'),
    issueDevice('ox-bad'),
    issueDevice('ox-old'),
  ]);
});

const entries = (): RevokedEntry[] => [
  { serial: revoked.serial, revokedAt, reason: 'keyCompromise' },
  { serial: unspecified.serial, revokedAt, reason: 'unspecified' },
];

describe('CRL', () => {
  it('makes openssl verify -crl_check fail for the revoked certificate and pass for a good one', async () => {
    const crl = await buildRevocationList({
      issuer: ca.issuer,
      number: 7,
      entries: entries(),
      now,
      validityMs: 86_400_000,
    });
    const f = writeFiles({
      'chain.pem': ca.chainPem,
      'crl.pem': crl.pem,
      'good.pem': good.pem,
      'bad.pem': revoked.pem,
    });
    const verify = (leaf: string) =>
      openssl(['verify', '-crl_check', '-CAfile', f['chain.pem']!, '-CRLfile', f['crl.pem']!, leaf]);
    const ok = verify(f['good.pem']!);
    expect(ok.stdout + ok.stderr).toContain('good.pem: OK');
    expect(ok.status).toBe(0);
    const bad = verify(f['bad.pem']!);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain('certificate revoked');
  });

  it('is verified by openssl crl -CAfile, and carries v2, CRL number, AKI, update times and reasons', async () => {
    const crl = await buildRevocationList({
      issuer: ca.issuer,
      number: 7,
      entries: entries(),
      now,
      validityMs: 86_400_000,
    });
    const f = writeFiles({ 'chain.pem': ca.chainPem, 'crl.pem': crl.pem, 'crl.der': crl.der });
    const check = openssl(['crl', '-in', f['crl.pem']!, '-CAfile', f['chain.pem']!, '-noout']);
    expect(check.stderr).toContain('verify OK');
    const t = openssl(['crl', '-in', f['crl.der']!, '-inform', 'DER', '-noout', '-text']).stdout;
    expect(t).toContain('Version 2 (0x1)');
    expect(t).toMatch(/X509v3 CRL Number: \s+7\n/);
    const ski = ca.issuing.certificate.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
    expect(t.replace(/:/g, '').toLowerCase()).toContain(ski);
    expect(t).toContain('Issuer: O = VitalGate, CN = Test Issuing CA');
    expect(t).toContain('Key Compromise');
    expect(t.toUpperCase()).toContain(revoked.serial.toUpperCase());
    expect(t.toUpperCase()).toContain(unspecified.serial.toUpperCase());
    // RFC 5280 §5.3.1: no reason code extension for "unspecified".
    expect(t.match(/CRL Reason Code/g)).toHaveLength(1);
    expect(crl.nextUpdate - crl.thisUpdate).toBe(86_400_000);
    const parsed = new x509.X509Crl(crl.pem);
    expect(parsed.nextUpdate?.getTime()).toBe(crl.nextUpdate);
    expect(parsed.entries).toHaveLength(2);
    expect(await parsed.verify({ publicKey: ca.issuing.certificate.publicKey })).toBe(true);
  });

  it('with no revocations omits the list, and still verifies', async () => {
    const crl = await buildRevocationList({
      issuer: ca.issuer,
      number: 1,
      entries: [],
      now,
      validityMs: 3_600_000,
    });
    const f = writeFiles({ 'chain.pem': ca.chainPem, 'crl.pem': crl.pem, 'good.pem': good.pem });
    expect(openssl(['crl', '-in', f['crl.pem']!, '-CAfile', f['chain.pem']!, '-noout']).stderr).toContain(
      'verify OK',
    );
    expect(openssl(['crl', '-in', f['crl.pem']!, '-noout', '-text']).stdout).toContain(
      'No Revoked Certificates',
    );
    const ok = openssl([
      'verify',
      '-crl_check',
      '-CAfile',
      f['chain.pem']!,
      '-CRLfile',
      f['crl.pem']!,
      f['good.pem']!,
    ]);
    expect(ok.status).toBe(0);
  });

  it('refuses duplicate serials, bad serials and bad numbers', async () => {
    const base = { issuer: ca.issuer, now, validityMs: 3_600_000 };
    await expect(
      buildRevocationList({ ...base, number: 2, entries: [...entries(), entries()[0]!] }),
    ).rejects.toMatchObject({ code: 'CRL_ENTRY_INVALID' });
    await expect(
      buildRevocationList({
        ...base,
        number: 2,
        entries: [{ serial: 'xyz', revokedAt, reason: 'superseded' }],
      }),
    ).rejects.toMatchObject({ code: 'CRL_ENTRY_INVALID' });
    await expect(buildRevocationList({ ...base, number: -1, entries: [] })).rejects.toMatchObject({
      code: 'CRL_NUMBER_INVALID',
    });
  });
});

describe('OCSP', () => {
  const statuses = (): Map<string, CertificateStatusAnswer> =>
    new Map([
      [good.serial, { status: 'good' }],
      [revoked.serial, { status: 'revoked', revokedAt, reason: 'cessationOfOperation' }],
    ]);

  function ask(responder: OcspResponder, certs: IssuedCertificate[], extra: string[] = []) {
    const files: Record<string, string> = { 'issuing.pem': ca.issuing.pem, 'chain.pem': ca.chainPem };
    certs.forEach((c, i) => (files[`c${i}.pem`] = c.pem));
    const f = writeFiles(files);
    const certArgs = certs.flatMap((_, i) => ['-cert', f[`c${i}.pem`]!]);
    const req = openssl([
      'ocsp',
      '-issuer',
      f['issuing.pem']!,
      ...certArgs,
      ...extra,
      '-reqout',
      `${f.dir}/req.der`,
    ]);
    expect(req.status, req.stderr).toBe(0);
    return {
      f,
      certArgs,
      async respond() {
        writeFileSync(`${f.dir}/resp.der`, await responder.respond(readFileSync(`${f.dir}/req.der`), now));
        // With the request alone, openssl verifies the signature and that the nonce came back.
        const nonce = openssl([
          'ocsp',
          '-respin',
          `${f.dir}/resp.der`,
          '-reqin',
          `${f.dir}/req.der`,
          '-issuer',
          f['issuing.pem']!,
          '-CAfile',
          f['chain.pem']!,
        ]);
        expect(nonce.status, nonce.stderr).toBe(0);
        expect(nonce.stderr).toContain('Response verify OK');
        // With the certificates (openssl then builds its own request, hence -no_nonce): the statuses.
        return openssl([
          'ocsp',
          '-respin',
          `${f.dir}/resp.der`,
          '-issuer',
          f['issuing.pem']!,
          ...certArgs,
          '-CAfile',
          f['chain.pem']!,
          '-no_nonce',
          '-resp_text',
        ]);
      },
    };
  }

  it('answers good and revoked (with time and reason), signature verified by openssl', async () => {
    const responder = new OcspResponder(
      ca.issuer,
      (serial) => statuses().get(serial) ?? { status: 'unknown' },
    );
    const out = await ask(responder, [good, revoked]).respond();
    const all = out.stdout + out.stderr;
    expect(all).toContain('Response verify OK');
    expect(out.stdout).toContain('OCSP Response Status: successful (0x0)');
    expect(out.stdout).toMatch(/c0\.pem: good/);
    expect(out.stdout).toMatch(/c1\.pem: revoked/);
    expect(out.stdout).toContain('Reason: cessationOfOperation');
    expect(out.stdout).toContain(`Revocation Time: ${opensslDate(revokedAt)}`);
    expect(out.stdout).toContain('Responder Id: O = VitalGate, CN = Test Issuing CA');
    expect(out.stdout).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(out.stdout).toContain('OCSP Nonce'); // openssl sends one by default; it is echoed
  });

  it('answers unknown for a serial the lookup does not know, and for a foreign issuer', async () => {
    const stranger = await issueDevice('ox-stranger');
    const responder = new OcspResponder(
      ca.issuer,
      async (serial) => statuses().get(serial) ?? { status: 'unknown' },
    );
    const out = await ask(responder, [stranger]).respond();
    expect(out.stdout + out.stderr).toContain('Response verify OK');
    expect(out.stdout).toMatch(/c0\.pem: unknown/);

    const other = await createTestCa(now);
    const seen: string[] = [];
    const foreign = new OcspResponder(other.issuer, (serial) => {
      seen.push(serial);
      return { status: 'good' };
    });
    const bytes = await foreign.respond(readFileSync(`${ask(foreign, [good]).f.dir}/req.der`), now);
    const f = writeFiles({ 'r.der': bytes });
    expect(openssl(['ocsp', '-respin', f['r.der']!, '-resp_text', '-noverify']).stdout).toContain(
      'Cert Status: unknown',
    );
    expect(seen).toEqual([]);
  });

  it('answers malformedRequest to garbage, empty and oversized requests, internalError when the lookup fails', async () => {
    const responder = new OcspResponder(ca.issuer, () => {
      throw new Error('database is gone');
    });
    for (const input of [Buffer.from('not an ocsp request'), Buffer.alloc(0), Buffer.alloc(20_000, 0x30)]) {
      const f = writeFiles({ 'r.der': await responder.respond(input) });
      expect(openssl(['ocsp', '-respin', f['r.der']!, '-resp_text', '-noverify']).stdout).toMatch(
        /malformedrequest \((0x)?1\)/i,
      );
    }
    const { f } = ask(responder, [good]);
    const failed = writeFiles({ 'r.der': await responder.respond(readFileSync(`${f.dir}/req.der`)) });
    expect(openssl(['ocsp', '-respin', failed['r.der']!, '-resp_text', '-noverify']).stdout).toMatch(
      /internalerror \((0x)?2\)/i,
    );
  });

  it('refuses a responder whose key is not the issuer certificate’s', () => {
    expect(
      () =>
        new OcspResponder({ certificate: ca.issuing.certificate, key: ca.rootKey }, () => ({
          status: 'good',
        })),
    ).toThrow(expect.objectContaining({ code: 'PROFILE_ISSUER_KEY_MISMATCH' }));
  });
});

describe('EST PKCS#7 certs-only', () => {
  it('is read by openssl pkcs7 -inform DER -print_certs, in order', () => {
    const p7 = certsOnlyPkcs7([good.der, ca.issuing.pem, ca.root.certificate]);
    const f = writeFiles({ 'p7.der': p7 });
    const out = openssl(['pkcs7', '-inform', 'DER', '-in', f['p7.der']!, '-print_certs', '-noout']);
    expect(out.status, out.stderr).toBe(0);
    const subjects = [...out.stdout.matchAll(/^subject=(.*)$/gm)].map((m) => m[1]);
    expect(subjects).toEqual([
      'CN = ox-good',
      'O = VitalGate, CN = Test Issuing CA',
      'O = VitalGate, CN = Test Root CA',
    ]);
    const text = openssl(['pkcs7', '-inform', 'DER', '-in', f['p7.der']!, '-print']).stdout;
    expect(text).toContain('signer_info:\n      <EMPTY>');
  });

  it('base64 body decodes to the same DER, in lines of at most 76 characters', () => {
    const b64 = certsOnlyPkcs7Base64([ca.issuing.der, ca.root.der]);
    expect(b64.split('\r\n').every((line) => line.length <= 76)).toBe(true);
    expect(Buffer.from(b64, 'base64').equals(certsOnlyPkcs7([ca.issuing.der, ca.root.der]))).toBe(true);
    const f = writeFiles({ 'p7.b64': b64 });
    const out = openssl(['base64', '-d', '-in', f['p7.b64']!, '-out', `${f.dir}/p7.der`]);
    expect(out.status).toBe(0);
    expect(
      openssl(['pkcs7', '-inform', 'DER', '-in', `${f.dir}/p7.der`, '-print_certs', '-noout']).stdout,
    ).toContain('subject=O = VitalGate, CN = Test Root CA');
  });
});

/** openssl's GeneralizedTime rendering, e.g. "Nov 22 23:55:33 2026 GMT". */
function opensslDate(ms: number): string {
  const d = new Date(ms);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const hms = d.toISOString().slice(11, 19);
  return `${month} ${day} ${hms} ${d.getUTCFullYear()} GMT`;
}
