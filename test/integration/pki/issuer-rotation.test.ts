// Issuing CA rotation over real mutual TLS: during the overlap devices of the old and the new
// issuing CA both connect (mqtt.js and mosquitto_pub), a revoked old-issuer certificate stays
// refused (broker, openssl verify -crl_check, OCSP), renewals and enrollments get the new issuer;
// at the overlap's end the old issuing CA is revoked on the root's CRL and its devices are refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/logger.js';
import { CertificateRenewalPrompts } from '../../../hub/certificate-renewal.js';
import { devicesOnPreviousIssuer } from '../../../hub/checks/issuer-rotation.js';
import { CertificateAuthority } from '../../../pki/authority.js';
import { ISSUER_OVERLAP_UNTIL_KEY } from '../../../pki/ca-material.js';
import { x509 } from '../../../pki/crypto-provider.js';
import { DeviceEnrollment } from '../../../pki/enrollment.js';
import { rotateIssuingCa, type IssuerRotation } from '../../../pki/issuer-rotation.js';
import { normalizeSerial } from '../../../pki/profiles.js';
import { checkContext } from '../../support/checks.js';
import { connectDevice, publishQos1, startTestBroker } from '../../support/broker.js';
import { createTestPki, makeCsr, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';
import { openssl, runPeer, verifyAgainstCrl, writeFiles } from '../../support/openssl.js';
import { eventually, refusalCodes } from '../broker/harness.js';

const DAY = 86_400_000;
let pki: TestPki;
let oldDevice: DeviceCredentials;
let revokedDevice: DeviceCredentials;
let rotation: IssuerRotation;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
let oldIssuerPem: string;

const envelope = JSON.stringify({
  v: 1,
  seq: 1,
  ts: Date.now(),
  readings: [{ type: 'spo2', value: 97, unit: '%' }],
});
const deps = () => ({ store: pki.store, keyring: pki.keyring, config: pki.config });
const issuerCn = (pem: string) => /CN=([^,]+)/.exec(new x509.X509Certificate(pem).issuer)?.[1];

/** The hub after a rotation: enrollments go through the authority now in force. */
function useAuthority(authority: CertificateAuthority): void {
  pki.authority = authority;
  pki.enrollment = new DeviceEnrollment(pki.store, authority, pki.tokens, pki.config);
}

beforeAll(async () => {
  pki = await createTestPki({ VITALGATE_API_PORT: '48443' });
  oldDevice = await pki.issueDevice('ox-old', 'pulse_oximeter');
  revokedDevice = await pki.issueDevice('ox-stolen', 'pulse_oximeter');
  oldIssuerPem = pki.authority.issuingPem;
  await pki.authority.revokeDevice('ox-stolen', 'keyCompromise', 'test');
  pki.store.devices.setStatus('ox-stolen', 'revoked', 'stolen');
  rotation = await rotateIssuingCa(deps(), { overlapDays: 30, actor: 'cli:test' });
  // The hub starts again after a rotation: the broker gets the new authority's material.
  useAuthority(rotation.authority);
  broker = await startTestBroker(pki);
});
afterAll(async () => {
  await broker?.stop();
  pki?.cleanup();
});

describe('a new issuing CA under the same root', () => {
  it('is a CA signed by the root, with a new name and key; the rotation is audited', () => {
    const issuing = new x509.X509Certificate(rotation.authority.issuingPem);
    const old = new x509.X509Certificate(oldIssuerPem);
    expect(issuing.subject).not.toBe(old.subject);
    expect(issuing.issuer).toBe(old.issuer);
    expect(rotation.previousSerial).toBe(normalizeSerial(old.serialNumber));
    expect(rotation.authority.previousIssuer?.serial).toBe(rotation.previousSerial);
    const f = writeFiles({
      'root.pem': rotation.authority.rootPem,
      'issuing.pem': rotation.authority.issuingPem,
    });
    const verify = openssl(['verify', '-CAfile', f['root.pem']!, f['issuing.pem']!]);
    expect(verify.stdout + verify.stderr).toContain(': OK');
    expect(rotation.overlapUntil).toBeGreaterThan(Date.now() + 29 * DAY);
    const [entry] = pki.store.audit.list({ action: 'pki.issuer.rotate' });
    expect(entry).toMatchObject({ actor: 'cli:test', outcome: 'success' });
    expect(entry?.details).toMatchObject({
      previous: rotation.previousSerial,
      issuing: rotation.issuingSerial,
    });
    // The bundle devices and browsers trust holds both issuing CAs during the overlap.
    expect(rotation.authority.caBundlePem()).toContain(oldIssuerPem.trim());
    expect(rotation.authority.caBundlePem()).toContain(rotation.authority.issuingPem.trim());
    // The server certificate moved to the new issuing CA; the listener sends that chain.
    expect(issuerCn(rotation.authority.serverTls().cert)).toBe('VitalGate Issuing CA G2');
    expect(rotation.authority.serverTls().cert).toContain(rotation.authority.issuingPem.trim());
  });

  it('lets an old-issuer device and a new-issuer device connect and publish during the overlap', async () => {
    const fresh = await pki.issueDevice('ox-new', 'pulse_oximeter');
    expect(issuerCn(fresh.certPem)).toBe('VitalGate Issuing CA G2');
    expect(issuerCn(oldDevice.certPem)).toBe('VitalGate Issuing CA');
    for (const creds of [oldDevice, fresh]) {
      const client = await connectDevice(broker.port, creds, creds.deviceId);
      await publishQos1(client, `devices/${creds.deviceId}/telemetry`, envelope);
      await client.endAsync();
    }
    // mosquitto_pub with the trust bundle the old device got at enrollment (old issuer + root).
    const f = writeFiles({
      'ca.pem': oldDevice.caPem,
      'cert.pem': oldDevice.certPem,
      'key.pem': oldDevice.keyPem,
    });
    const result = await runPeer('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(broker.port), '-V', 'mqttv311', '-q', '1', '-i', 'ox-old'],
      ...['--cafile', f['ca.pem']!, '--cert', f['cert.pem']!, '--key', f['key.pem']!],
      ...['-t', 'devices/ox-old/telemetry', '-m', envelope],
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(broker.intake.accepted.map((a) => a.deviceId)).toEqual(['ox-old', 'ox-new', 'ox-old']);
  });

  it('keeps refusing a revoked old-issuer certificate, and nothing reaches the intake', async () => {
    const before = broker.intake.accepted.length;
    const codes = () => refusalCodes(pki).filter((c) => c === 'CERTIFICATE_REVOKED').length;
    const refused = codes();
    await expect(connectDevice(broker.port, revokedDevice, 'ox-stolen')).rejects.toThrow();
    await eventually(() => expect(codes()).toBe(refused + 1));
    expect(broker.broker.isConnected('ox-stolen')).toBe(false);
    expect(broker.intake.accepted.length).toBe(before);
  });

  it('serves the CRL of each issuer; openssl verify -crl_check refuses the revoked one', async () => {
    const authority = rotation.authority;
    const previousCrl = await authority.revocationListFor(rotation.previousSerial);
    const currentCrl = await authority.revocationListFor(rotation.issuingSerial);
    const bare = await authority.revocationListFor();
    expect(bare?.pem).toBe(previousCrl?.pem); // the old certificates' CRL URL is the bare one
    expect(await authority.revocationListFor('ffff')).toBeUndefined();
    const fresh = pki.store.certificates.listForDevice('ox-new')[0]!;
    const oldChain = `${oldIssuerPem}\n${authority.rootPem}`;
    const newChain = `${authority.issuingPem}\n${authority.rootPem}`;
    expect(verifyAgainstCrl(oldChain, previousCrl!.pem, revokedDevice.certPem)).toContain(
      'certificate revoked',
    );
    expect(verifyAgainstCrl(oldChain, previousCrl!.pem, oldDevice.certPem)).toContain(': OK');
    expect(verifyAgainstCrl(newChain, currentCrl!.pem, fresh.certificatePem)).toContain(': OK');
    // The new issuer's certificates name its own CRL.
    expect(fresh.certificatePem).toBeDefined();
    const dp = new x509.X509Certificate(fresh.certificatePem).getExtension(
      x509.CRLDistributionPointsExtension,
    );
    expect(dp?.distributionPoints[0]?.distributionPoint?.fullName?.[0]?.uniformResourceIdentifier).toBe(
      `https://localhost:48443/pki/crl?issuer=${rotation.issuingSerial}`,
    );
  });

  it('answers OCSP for certificates of both issuers, signed by the right one', async () => {
    const authority = rotation.authority;
    const ask = async (issuerPem: string, leafPem: string) => {
      const f = writeFiles({ 'issuer.pem': issuerPem, 'leaf.pem': leafPem, 'root.pem': authority.rootPem });
      const req = openssl([
        'ocsp',
        '-issuer',
        f['issuer.pem']!,
        '-cert',
        f['leaf.pem']!,
        '-reqout',
        `${f.dir}/req.der`,
      ]);
      expect(req.status, req.stderr).toBe(0);
      writeFileSync(
        `${f.dir}/resp.der`,
        await authority.ocspResponder().respond(readFileSync(`${f.dir}/req.der`)),
      );
      const r = openssl([
        'ocsp',
        ...['-respin', `${f.dir}/resp.der`, '-reqin', `${f.dir}/req.der`],
        ...['-issuer', f['issuer.pem']!, '-cert', f['leaf.pem']!, '-CAfile', f['root.pem']!],
        '-no_nonce',
      ]);
      expect(r.stderr).toContain('Response verify OK');
      return r.stdout;
    };
    const fresh = pki.store.certificates.listForDevice('ox-new')[0]!;
    expect(await ask(oldIssuerPem, oldDevice.certPem)).toMatch(/: good/);
    expect(await ask(oldIssuerPem, revokedDevice.certPem)).toMatch(/: revoked/);
    expect(await ask(authority.issuingPem, fresh.certificatePem)).toMatch(/: good/);
  });

  it('has the hub prompt an old-issuer device to renew at once (rotate-cert), and not a new-issuer one', async () => {
    // The command publisher is a recorder here: the broker path of rotate-cert is covered in
    // test/e2e/device-commands.test.ts.
    const sent: { deviceId: string; params: unknown }[] = [];
    const prompts = new CertificateRenewalPrompts({
      config: { deviceCertDays: 90, deviceRenewalWindowDays: 1 }, // both certificates are far from it
      store: pki.store,
      logger: silentLogger(),
      issuingSerial: () => rotation.authority.issuingSerial,
      commands: {
        send: (deviceId, _type, params) => {
          sent.push({ deviceId, params });
          return Promise.resolve({ command: {} as never, outcome: 'acked' });
        },
      },
    });
    const session = (deviceId: string) => ({
      deviceId,
      serial: pki.store.devices.require(deviceId).currentSerial!,
    });
    expect(await prompts.prompt(session('ox-new'))).toBeUndefined();
    expect(await prompts.prompt(session('ox-old'))).toBe('acked');
    expect(sent).toEqual([
      { deviceId: 'ox-old', params: expect.objectContaining({ reason: 'issuer_rotation' }) },
    ]);
  });

  it('renews an old-issuer device onto the new issuer; VG-PKI-012 fails near the end while a device is left, passes once none is', async () => {
    const authority = rotation.authority;
    const end = rotation.overlapUntil;
    const check = (now: number) => devicesOnPreviousIssuer.run(checkContext(pki, { authority, now }));
    expect(await check(end - 20 * DAY)).toMatchObject({ status: 'pass' });
    const near = await check(end - 5 * DAY);
    expect(near).toMatchObject({ status: 'fail' });
    expect(near.evidence).toContain('ox-old');
    expect(near.evidence).not.toContain('ox-stolen'); // revoked devices are not waited for

    const { keyPem, csrPem } = await makeCsr('ox-old');
    const renewed = await pki.enrollment.renew('ox-old', oldDevice.serial, csrPem);
    expect(issuerCn(renewed.certificatePem)).toBe('VitalGate Issuing CA G2');
    const f = writeFiles({ 'chain.pem': renewed.chainPem, 'leaf.pem': renewed.certificatePem });
    expect(openssl(['verify', '-CAfile', f['chain.pem']!, f['leaf.pem']!]).stdout).toContain(': OK');
    expect(await check(end - 5 * DAY)).toMatchObject({ status: 'pass' });
    const client = await connectDevice(
      broker.port,
      { ...oldDevice, keyPem, certPem: renewed.certificatePem },
      'ox-old',
    );
    await client.endAsync();
  });
});

describe('the end of the overlap', () => {
  it('revokes the old issuing CA on the root CRL: its devices are refused, the new ones still connect', async () => {
    const stale = pki.store.certificates.listForDevice('ox-old').find((c) => c.serial === oldDevice.serial)!;
    // The overlap's end as the store records it has passed (the broker checks CRL times against
    // the real clock, so the clock stays and the end moves).
    pki.store.meta.set(ISSUER_OVERLAP_UNTIL_KEY, String(Date.now() - 1000));
    const later = Date.now();
    const authority = await CertificateAuthority.load(deps());
    await authority.currentRevocationList();
    expect(pki.store.certificates.get(rotation.previousSerial)).toMatchObject({
      status: 'revoked',
      revocationReason: 'superseded',
    });
    expect(pki.store.audit.list({ action: 'pki.issuer.retire' })).toHaveLength(1);
    const rootCrl = (await authority.revocationListFor(
      new x509.X509Certificate(authority.rootPem).serialNumber,
    ))!;
    const crls = `${rootCrl.pem}\n${(await authority.revocationListFor(rotation.previousSerial))!.pem}`;
    expect(
      verifyAgainstCrl(`${oldIssuerPem}\n${authority.rootPem}`, crls, stale.certificatePem, '-crl_check_all'),
    ).toContain('certificate revoked');
    // Once retired, the old issuing CA is out of the bundle.
    expect(authority.caBundlePem()).not.toContain(oldIssuerPem.trim());

    // The running broker gets the new CRLs (the hub pushes them on every publication).
    broker.broker.updateCrl(authority.tlsRevocationPem());
    useAuthority(authority);
    const second = await pki.issueDevice('ox-after', 'pulse_oximeter');
    const before = refusalCodes(pki).filter((c) => c === 'CERTIFICATE_REVOKED').length;
    await expect(connectDevice(broker.port, oldDevice, 'ox-old')).rejects.toThrow();
    await eventually(() =>
      expect(refusalCodes(pki).filter((c) => c === 'CERTIFICATE_REVOKED').length).toBe(before + 1),
    );
    const client = await connectDevice(broker.port, second, 'ox-after');
    await client.endAsync();
    // A device left on the retired issuer fails VG-PKI-012.
    pki.store.devices.setCurrentSerial('ox-old', oldDevice.serial);
    const outcome = await devicesOnPreviousIssuer.run(checkContext(pki, { authority, now: later }));
    expect(outcome).toMatchObject({ status: 'fail' });
    expect(outcome.evidence).toContain('retired');
  });
});

describe('refusals', () => {
  it('a second rotation during the overlap, or a bad overlap, is refused, audited, and changes nothing', async () => {
    const fresh = await createTestPki();
    try {
      const d = { store: fresh.store, keyring: fresh.keyring, config: fresh.config };
      expect(await devicesOnPreviousIssuer.run(checkContext(fresh))).toMatchObject({
        status: 'not_applicable',
      });
      await expect(rotateIssuingCa(d, { overlapDays: 0, actor: 'cli:test' })).rejects.toMatchObject({
        code: 'OVERLAP_INVALID',
      });
      const first = await rotateIssuingCa(d, { overlapDays: 10, actor: 'cli:test' });
      const issuing = fresh.store.pkiMaterial.get('issuing')!.certificatePem;
      await expect(rotateIssuingCa(d, { overlapDays: 10, actor: 'cli:test' })).rejects.toMatchObject({
        code: 'ISSUER_ROTATION_IN_PROGRESS',
      });
      expect(fresh.store.pkiMaterial.get('issuing')!.certificatePem).toBe(issuing);
      expect(fresh.store.pkiMaterial.get('issuing-previous')!.certificatePem).not.toBe(issuing);
      expect(
        fresh.store.audit
          .list({ action: 'pki.issuer.rotate' })
          .map((e) => e.outcome)
          .sort(),
      ).toEqual(['failure', 'failure', 'success']);
      // After the overlap another rotation is allowed.
      const later = first.overlapUntil + 1000;
      const second = await rotateIssuingCa(
        { ...d, now: () => later },
        { overlapDays: 10, actor: 'cli:test' },
      );
      expect(second.previousSerial).toBe(first.issuingSerial);
      expect(new x509.X509Certificate(second.authority.issuingPem).subject).toContain('G3');
    } finally {
      fresh.cleanup();
    }
  });
});
