// Each check against a real hub PKI and control plane: a good state passes, and the same hub
// broken in exactly that way fails with evidence naming the culprit.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { checksCatalogue } from '../../../hub/checks/catalogue.js';
import type { CheckContext, DeploymentCheck } from '../../../hub/checks/check.js';
import { runChecks } from '../../../hub/checks/engine.js';
import * as people from '../../../hub/checks/people.js';
import * as pkiChecks from '../../../hub/checks/pki.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { checkContext } from '../../support/checks.js';

let pki: TestPki;
beforeEach(async () => {
  pki = await createTestPki();
});
afterEach(() => pki.cleanup());

function ctx(overrides: Partial<CheckContext> = {}): CheckContext {
  return checkContext(pki, overrides);
}
const run = (check: DeploymentCheck, overrides: Partial<CheckContext> = {}) =>
  Promise.resolve(check.run(ctx(overrides)));
const DAY = 86_400_000;

describe('PKI checks', () => {
  it('VG-PKI-001 fails when a CA expires within 30 days', async () => {
    expect((await run(pkiChecks.caCertificateExpiring)).status).toBe('pass');
    const later = pki.authority.issuingCertificate.notAfter.getTime() - 10 * DAY;
    const outcome = await run(pkiChecks.caCertificateExpiring, { now: later });
    expect(outcome.status).toBe('fail');
    expect(outcome.evidence).toContain('issuing CA expires in 10 days');
  });

  it('VG-PKI-002 warns before and fails after a device certificate expires', async () => {
    await pki.issueDevice('ox-1', 'pulse_oximeter');
    expect((await run(pkiChecks.deviceCertificatesExpiring)).status).toBe('pass');
    const soon = await run(pkiChecks.deviceCertificatesExpiring, { now: Date.now() + 80 * DAY });
    expect(soon).toMatchObject({ status: 'warn', evidence: expect.stringContaining('ox-1') });
    const late = await run(pkiChecks.deviceCertificatesExpiring, { now: Date.now() + 91 * DAY });
    expect(late).toMatchObject({ status: 'fail', evidence: expect.stringContaining('ox-1') });
  });

  it('VG-PKI-003 warns about certificates older than the rotation policy', async () => {
    await pki.issueDevice('ox-2', 'pulse_oximeter');
    expect((await run(pkiChecks.certificateAge)).status).toBe('pass');
    const outcome = await run(pkiChecks.certificateAge, {
      config: { ...pki.config, certRotationDays: 1 },
      now: Date.now() + 2 * DAY,
    });
    expect(outcome).toMatchObject({ status: 'warn', evidence: expect.stringContaining('ox-2') });
  });

  it('VG-PKI-004 fails on a weak key in the registry', async () => {
    await pki.issueDevice('ox-3', 'pulse_oximeter');
    expect((await run(pkiChecks.keyQuality)).status).toBe('pass');
    // A certificate with an RSA-1024 key (made by openssl, as a vendor's old device might carry).
    const { openssl, writeFiles } = await import('../../support/openssl.js');
    const f = writeFiles({});
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:1024',
      '-nodes',
      '-keyout',
      `${f.dir}/k`,
      '-out',
      `${f.dir}/c`,
      '-subj',
      '/CN=legacy-1',
      '-days',
      '30',
    ]);
    const pem = readFileSync(`${f.dir}/c`, 'utf8');
    pki.store.devices.add({ id: 'legacy-1', kind: 'thermometer' });
    pki.store.certificates.add({
      serial: 'abc123',
      deviceId: 'legacy-1',
      purpose: 'device',
      subject: 'CN=legacy-1',
      notBefore: Date.now(),
      notAfter: Date.now() + DAY,
      certificatePem: pem,
    });
    const outcome = await run(pkiChecks.keyQuality);
    expect(outcome).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('legacy-1 (CSR_KEY_TOO_WEAK)'),
    });
  });

  it('VG-PKI-005 fails when a revoked device still has an unrevoked certificate', async () => {
    await pki.issueDevice('ox-4', 'pulse_oximeter');
    expect((await run(pkiChecks.revokedStillActive)).status).toBe('pass');
    pki.store.devices.setStatus('ox-4', 'revoked', 'lost');
    const outcome = await run(pkiChecks.revokedStillActive);
    expect(outcome).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('ox-4: 1 unrevoked certificate'),
    });
  });

  it('VG-PKI-005 fails when a revoked device has a live session', async () => {
    const dev = await pki.issueDevice('ox-5', 'pulse_oximeter');
    await pki.authority.revokeDevice('ox-5', 'keyCompromise', 'test');
    pki.store.devices.setStatus('ox-5', 'revoked', 'stolen');
    const live = {
      mqtt: { host: '127.0.0.1', port: 1 },
      liveSessions: () => [{ deviceId: 'ox-5', serial: dev.serial, address: '127.0.0.1' }],
    };
    const outcome = await run(pkiChecks.revokedStillActive, { live });
    expect(outcome).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('ox-5 connected with revoked status'),
    });
  });

  it('VG-PKI-006 fails when the CRL is past nextUpdate', async () => {
    expect((await run(pkiChecks.crlFresh)).status).toBe('pass');
    const outcome = await run(pkiChecks.crlFresh, { now: Date.now() + 2 * DAY });
    expect(outcome).toMatchObject({ status: 'fail', evidence: expect.stringContaining('has passed') });
  });

  it('VG-PKI-007 fails when a CA key is stored in plain PKCS#8', async () => {
    expect((await run(pkiChecks.caKeysEncrypted)).status).toBe('pass');
    const issuing = pki.store.pkiMaterial.get('issuing')!;
    pki.store.pkiMaterial.put(
      'issuing',
      issuing.certificatePem,
      pki.keyring.openSecret('pki:issuing', issuing.sealedKey),
    );
    expect(await run(pkiChecks.caKeysEncrypted)).toMatchObject({
      status: 'fail',
      evidence: 'plaintext keys: issuing',
    });
  });

  it('VG-PKI-008 warns when the master key file sits in the data dir', async () => {
    expect(await run(pkiChecks.masterKeyNextToData)).toMatchObject({ status: 'warn' });
    expect(
      await run(pkiChecks.masterKeyNextToData, { masterKey: { key: randomBytes(32), origin: 'env' } }),
    ).toMatchObject({ status: 'pass' });
  });
});

describe('API and people checks', () => {
  it('VG-API-001 fails for a clinician without MFA after a day', async () => {
    pki.store.users.add({
      username: 'dr.a',
      role: 'clinician',
      passwordHash: 'x',
      mustChangePassword: false,
    });
    expect((await run(people.mfaEnforced)).status).toBe('pass');
    expect(await run(people.mfaEnforced, { now: Date.now() + 2 * DAY })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('dr.a'),
    });
    pki.store.users.update('dr.a', { totpEnrolledAt: Date.now() });
    expect((await run(people.mfaEnforced, { now: Date.now() + 2 * DAY })).status).toBe('pass');
  });

  it('VG-API-002 fails with an idle timeout over 15 minutes', async () => {
    expect((await run(people.sessionIdleTimeout)).status).toBe('pass');
    expect(
      (await run(people.sessionIdleTimeout, { config: { ...pki.config, sessionIdleMinutes: 30 } })).status,
    ).toBe('fail');
  });

  it('VG-API-003 fails when the first admin keeps the one-time password', async () => {
    pki.store.users.add({ username: 'admin', role: 'admin', passwordHash: 'x', mustChangePassword: true });
    expect((await run(people.firstAdminPassword)).status).toBe('pass');
    expect(await run(people.firstAdminPassword, { now: Date.now() + 2 * DAY })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('admin'),
    });
  });

  it('VG-API-004 fails when lockout is effectively off', async () => {
    expect((await run(people.lockoutOn)).status).toBe('pass');
    expect((await run(people.lockoutOn, { config: { ...pki.config, lockoutThreshold: 50 } })).status).toBe(
      'fail',
    );
  });

  it('VG-AUD-001 fails after an audit row is edited, naming the entry', async () => {
    expect((await run(people.auditChainVerifies)).status).toBe('pass');
    pki.store.db.prepare("UPDATE audit_log SET outcome = 'denied' WHERE seq = 2").run();
    expect(await run(people.auditChainVerifies)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('entry 2'),
    });
  });

  it('VG-API-008 fails when PHI is readable from anywhere', async () => {
    expect((await run(people.phiNetworkPolicy)).status).toBe('pass');
    expect(
      (await run(people.phiNetworkPolicy, { config: { ...pki.config, phiNetworks: ['0.0.0.0/0'] } })).status,
    ).toBe('fail');
  });

  it('VG-DATA-006 warns until a verified backup is recorded', async () => {
    expect((await run(people.backupsVerified)).status).toBe('warn');
    pki.store.meta.set('last_verified_backup_at', new Date().toISOString());
    expect((await run(people.backupsVerified)).status).toBe('pass');
  });
});

describe('the engine', () => {
  it('marks the report failing only for a high or critical failure, and survives a throwing check', async () => {
    const boom: DeploymentCheck = {
      ...people.lockoutOn,
      id: 'VG-TEST-001',
      severity: 'low',
      run: () => {
        throw new Error('probe down');
      },
    };
    const lowFail: DeploymentCheck = {
      ...people.lockoutOn,
      id: 'VG-TEST-002',
      severity: 'low',
      run: () => ({ status: 'fail', evidence: 'x' }),
    };
    const report = await runChecks([boom, lowFail], ctx());
    expect(report.failing).toBe(false);
    expect(report.results[0]).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('probe down'),
    });
    const critical = await runChecks([{ ...lowFail, severity: 'critical' }], ctx());
    expect(critical.failing).toBe(true);
  });

  it('keeps docs/CHECKS.md in step with the check modules', () => {
    const doc = readFileSync(new URL('../../../docs/CHECKS.md', import.meta.url), 'utf8');
    expect(doc).toBe(checksCatalogue());
  });
});

describe('break-glass review', () => {
  it('VG-API-005 warns about an unreviewed grant until an auditor records the review', async () => {
    const { BreakGlassGrantRepository } = await import('../../../core/store/break-glass-grants.js');
    const { PatientRegistry } = await import('../../../core/patient-registry.js');
    const { runCli } = await import('../../support/cli.js');
    pki.store.users.add({
      username: 'dr.bg',
      role: 'clinician',
      passwordHash: 'x',
      mustChangePassword: false,
    });
    const { id: patientId } = new PatientRegistry(pki.store.patients, pki.keyring, pki.store.audit).add(
      { name: 'Grace H.', birthDate: '1906-12-09' },
      'test',
    );
    expect((await run(people.breakGlassReviewed)).status).toBe('pass');
    const grantedAt = Date.now() - 2 * DAY;
    const grant = new BreakGlassGrantRepository(pki.store.db).add({
      username: 'dr.bg',
      patientId,
      reason: 'ED admission, patient unconscious',
      source: '10.0.0.7',
      grantedAt,
      expiresAt: grantedAt + 3_600_000,
    });
    expect(await run(people.breakGlassReviewed)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining(`#${grant.id} (dr.bg)`),
    });
    const review = await runCli(['break-glass', 'review', String(grant.id), '--note', 'justified'], {
      VITALGATE_DATA_DIR: pki.dataDir,
    });
    expect(review.stderr).toBe('');
    expect((await run(people.breakGlassReviewed)).status).toBe('pass');
  });
});
