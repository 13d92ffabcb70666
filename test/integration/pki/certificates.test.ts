// Hub-issued certificates, checked by the real openssl CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { x509 } from '../../../pki/crypto-provider.js';
import { certsOnlyPkcs7 } from '../../../pki/pkcs7.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';
import { openssl, writeFiles } from '../../support/openssl.js';

let pki: TestPki;
let device: DeviceCredentials;

beforeAll(async () => {
  pki = await createTestPki();
  device = await pki.issueDevice('wear-001', 'wearable');
});
afterAll(() => pki.cleanup());

describe('device certificates', () => {
  it('verify with openssl against the root, through the issuing CA', () => {
    const f = writeFiles({
      'root.pem': pki.authority.rootPem,
      'issuing.pem': pki.authority.issuingPem,
      'dev.pem': device.certPem,
    });
    const result = openssl([
      'verify',
      '-CAfile',
      f['root.pem']!,
      '-untrusted',
      f['issuing.pem']!,
      '-purpose',
      'sslclient',
      f['dev.pem']!,
    ]);
    expect(result.stdout + result.stderr).toContain(': OK');
    expect(result.status).toBe(0);
  });

  it('follow the SPEC §3 profile', () => {
    const cert = new x509.X509Certificate(device.certPem);
    expect(cert.subject).toBe('CN=wear-001');
    expect(cert.serialNumber.replace(/^00/, '')).toHaveLength(32);
    expect(device.serial).toMatch(/^[0-9a-f]{31,32}$/);
    const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000;
    expect(days).toBeGreaterThan(90);
    expect(days).toBeLessThan(90.01);
    const text = openssl(['x509', '-noout', '-text'], device.certPem).stdout;
    expect(text).toContain('URI:urn:vitalgate:device:wear-001');
    expect(text).toContain('TLS Web Client Authentication');
    expect(text).not.toContain('TLS Web Server Authentication');
    expect(text).toContain('X509v3 Authority Key Identifier');
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('URI:https://localhost:8443/pki/crl');
    expect(text).toContain('OCSP - URI:https://localhost:8443/pki/ocsp');
    expect(text).toMatch(/CA:FALSE/);
    expect(text).toContain('ASN1 OID: prime256v1');
  });

  it('chain the issuing CA to the root, with a path length of 0', () => {
    const text = openssl(['x509', '-noout', '-text'], pki.authority.issuingPem).stdout;
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toContain('Certificate Sign, CRL Sign');
  });

  it('give the server certificate SANs from the config and serverAuth', () => {
    const text = openssl(['x509', '-noout', '-text'], pki.authority.serverTls().cert).stdout;
    expect(text).toContain('DNS:localhost');
    expect(text).toContain('IP Address:127.0.0.1');
    expect(text).toContain('TLS Web Server Authentication');
  });

  it('are not re-issued, nor the CA rotated, when the authority is initialised again', async () => {
    const before = pki.store.pkiMaterial.list().map((m) => m.certificatePem);
    await (
      await import('../../../pki/authority.js')
    ).CertificateAuthority.initialize({ store: pki.store, keyring: pki.keyring, config: pki.config }, 'test');
    expect(pki.store.pkiMaterial.list().map((m) => m.certificatePem)).toEqual(before);
  });
});

describe('revocation', () => {
  it('makes openssl verify -crl_check fail for the revoked certificate only', async () => {
    const good = await pki.issueDevice('ox-good', 'pulse_oximeter');
    const bad = await pki.issueDevice('ox-bad', 'pulse_oximeter');
    expect(await pki.authority.revoke(bad.serial, 'keyCompromise', 'test')).toBe(true);
    const crl = await pki.authority.currentRevocationList();
    const f = writeFiles({
      'chain.pem': pki.authority.caBundlePem(),
      'crl.pem': crl.pem,
      'good.pem': good.certPem,
      'bad.pem': bad.certPem,
    });
    const okRun = openssl([
      'verify',
      '-crl_check',
      '-CAfile',
      f['chain.pem']!,
      '-CRLfile',
      f['crl.pem']!,
      f['good.pem']!,
    ]);
    expect(okRun.status).toBe(0);
    const badRun = openssl([
      'verify',
      '-crl_check',
      '-CAfile',
      f['chain.pem']!,
      '-CRLfile',
      f['crl.pem']!,
      f['bad.pem']!,
    ]);
    expect(badRun.status).not.toBe(0);
    expect(badRun.stdout + badRun.stderr).toContain('certificate revoked');

    const crlCheck = openssl(['crl', '-in', f['crl.pem']!, '-CAfile', f['chain.pem']!, '-noout']);
    expect(crlCheck.stderr).toContain('verify OK');
    const crlText = openssl(['crl', '-in', f['crl.pem']!, '-noout', '-text']).stdout;
    expect(crlText).toContain('X509v3 CRL Number');
    expect(crlText).toContain('Key Compromise');
    expect(crlText.toUpperCase()).toContain(bad.serial.toUpperCase());
  });

  it('republishes the CRL with a higher number on each revocation and audits it', async () => {
    const before = (await pki.authority.currentRevocationList()).number;
    const dev = await pki.issueDevice('scale-1', 'weight_scale');
    await pki.authority.revokeDevice('scale-1', 'cessationOfOperation', 'cli:ops');
    expect((await pki.authority.currentRevocationList()).number).toBe(before + 1);
    expect(await pki.authority.revoke(dev.serial, 'keyCompromise', 'cli:ops')).toBe(false);
    const entries = pki.store.audit.list({ action: 'pki.device.revoke', target: 'device:scale-1' });
    expect(entries[0]).toMatchObject({
      actor: 'cli:ops',
      outcome: 'success',
      details: { reason: 'cessationOfOperation' },
    });
  });

  it('answers OCSP good and revoked, checked by openssl ocsp', async () => {
    const good = await pki.issueDevice('bp-good', 'bp_monitor');
    const bad = await pki.issueDevice('bp-bad', 'bp_monitor');
    await pki.authority.revoke(bad.serial, 'cessationOfOperation', 'test');
    const f = writeFiles({
      'issuing.pem': pki.authority.issuingPem,
      'chain.pem': pki.authority.caBundlePem(),
      'good.pem': good.certPem,
      'bad.pem': bad.certPem,
    });
    for (const [name, expected] of [
      ['good', 'good'],
      ['bad', 'revoked'],
    ] as const) {
      const reqFile = `${f.dir}/${name}.req`;
      const req = openssl([
        'ocsp',
        '-issuer',
        f['issuing.pem']!,
        '-cert',
        f[`${name}.pem`]!,
        '-reqout',
        reqFile,
      ]);
      expect(req.status).toBe(0);
      const { readFileSync, writeFileSync } = await import('node:fs');
      const response = await pki.authority.ocspResponder().respond(readFileSync(reqFile));
      writeFileSync(`${f.dir}/${name}.resp`, response);
      const out = openssl([
        'ocsp',
        '-respin',
        `${f.dir}/${name}.resp`,
        '-issuer',
        f['issuing.pem']!,
        '-cert',
        f[`${name}.pem`]!,
        '-CAfile',
        f['chain.pem']!,
        '-no_nonce',
      ]);
      expect(out.stdout + out.stderr).toContain('Response verify OK');
      expect(out.stdout).toContain(`: ${expected}`);
      if (expected === 'revoked') expect(out.stdout).toContain('Reason: cessationOfOperation');
    }
  });

  it('answers malformedRequest to garbage', async () => {
    const response = await pki.authority.ocspResponder().respond(Buffer.from('not an ocsp request'));
    const f = writeFiles({ 'r.der': response });
    const out = openssl(['ocsp', '-respin', f['r.der']!, '-resp_text', '-noverify']);
    expect(out.stdout + out.stderr).toMatch(/malformedrequest/i);
  });
});

describe('EST PKCS#7 certs-only', () => {
  it('is read by openssl pkcs7 -print_certs', () => {
    const p7 = certsOnlyPkcs7([
      new x509.X509Certificate(device.certPem).rawData,
      pki.authority.issuingCertificate.rawData,
    ]);
    const out = openssl(['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], p7);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('subject=CN = wear-001');
    expect(out.stdout).toContain('subject=O = VitalGate, CN = VitalGate Issuing CA');
  });
});
