// A real hub PKI in a temp data dir, for tests: an initialised control plane, keyring and
// certificate authority, and a helper that registers and enrolls a device the way a device
// does (its own P-256 key, a PKCS#10 CSR, a one-time token).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type HubConfig } from '../../core/config.js';
import type { DeviceKind } from '../../core/domain.js';
import { CertificateAuthority } from '../../pki/authority.js';
import { exportPkcs8, generateKeyPair, pkcs8ToPem, x509, type CurveName } from '../../pki/crypto-provider.js';
import { deviceSanUri } from '../../pki/csr.js';
import { DeviceEnrollment } from '../../pki/enrollment.js';
import { EnrollmentTokenService } from '../../pki/enrollment-tokens.js';
import { INITIALIZED_KEY, openContext, type HubContext } from '../../hub/context.js';

export interface DeviceCredentials {
  deviceId: string;
  keyPem: string;
  certPem: string;
  /** Issuing CA + root. */
  caPem: string;
  serial: string;
}

export interface TestPki extends HubContext {
  dataDir: string;
  authority: CertificateAuthority;
  tokens: EnrollmentTokenService;
  enrollment: DeviceEnrollment;
  issueDevice(
    deviceId: string,
    kind: DeviceKind,
    options?: { patientId?: string; curve?: CurveName },
  ): Promise<DeviceCredentials>;
  cleanup(): void;
}

export async function makeCsr(deviceId: string, curve: CurveName = 'P-256') {
  const keys = await generateKeyPair(curve);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${deviceId}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceSanUri(deviceId) }])],
  });
  return { keyPem: pkcs8ToPem(await exportPkcs8(keys.privateKey)), csrPem: csr.toString('pem') };
}

export async function createTestPki(env: Record<string, string> = {}): Promise<TestPki> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vg-hub-'));
  const config: HubConfig = loadConfig({ env: { VITALGATE_DATA_DIR: dataDir, ...env } });
  const ctx = openContext(config, { create: true });
  const { authority } = await CertificateAuthority.initialize(
    { store: ctx.store, keyring: ctx.keyring, config },
    'test',
  );
  ctx.store.meta.set(INITIALIZED_KEY, new Date().toISOString());
  const tokens = new EnrollmentTokenService(ctx.store.enrollmentTokens, ctx.store.devices, ctx.store.audit);
  const enrollment = new DeviceEnrollment(ctx.store, authority, tokens, config);

  // issueDevice uses the authority and enrollment the object holds when it is called (a test may
  // replace them, as the hub does after an issuing CA rotation).
  const pki: TestPki = {
    ...ctx,
    dataDir,
    authority,
    tokens,
    enrollment,
    async issueDevice(deviceId, kind, options = {}) {
      ctx.store.devices.add({ id: deviceId, kind, patientId: options.patientId ?? null });
      const { token } = tokens.issue(deviceId, 3_600_000, 'test');
      const { keyPem, csrPem } = await makeCsr(deviceId, options.curve);
      const issued = await pki.enrollment.enroll(token, csrPem);
      return {
        deviceId,
        keyPem,
        certPem: issued.certificatePem,
        caPem: pki.authority.caBundlePem(),
        serial: issued.serial,
      };
    },
    cleanup() {
      ctx.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return pki;
}
