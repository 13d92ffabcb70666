// PKI checks: certificate lifetimes, key quality, revocation consistency, CRL freshness and
// how the CA keys and the master key are kept.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { assessPublicKey } from '../../pki/key-quality.js';
import { x509 } from '../../pki/crypto-provider.js';
import { hasRocaFingerprint } from '../../pki/roca.js';
import { fail, listIds, pass, warn, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
const DEVICE_SECURITY = 'Device security controls';
const INTEGRITY = '164.312(c)(1) Integrity';
const AUTHENTICATION = '164.312(d) Person or entity authentication';

export const caCertificateExpiring: DeploymentCheck = {
  id: 'VG-PKI-001',
  title: 'CA certificates are not about to expire',
  severity: 'critical',
  verifies: 'The root and issuing CA certificates are valid for at least 30 more days.',
  how: "Reads notAfter of the hub's root and issuing CA certificates.",
  references: {
    owasp: DEVICE_SECURITY,
    hipaa: AUTHENTICATION,
    deviceDefender: 'CA_CERTIFICATE_EXPIRING_CHECK',
  },
  run({ authority, now }) {
    const problems: string[] = [];
    for (const [name, cert] of [
      ['root', authority.rootCertificate],
      ['issuing', authority.issuingCertificate],
    ] as const) {
      const days = Math.floor((cert.notAfter.getTime() - now) / DAY);
      if (days < 30) problems.push(`${name} CA expires in ${days} days (${cert.notAfter.toISOString()})`);
    }
    const earliest = Math.min(
      authority.rootCertificate.notAfter.getTime(),
      authority.issuingCertificate.notAfter.getTime(),
    );
    return problems.length
      ? fail(
          problems.join('; '),
          'Rotate the issuing CA (vitalgate ca rotate-issuer, with the hub stopped) well before it expires, so that devices renew onto the new one during the overlap; for the root, follow the root CA rollover in docs/PKI.md.',
        )
      : pass(`CA certificates valid until at least ${new Date(earliest).toISOString()}`);
  },
};

export const deviceCertificatesExpiring: DeploymentCheck = {
  id: 'VG-PKI-002',
  title: 'Device certificates are renewed before they expire',
  severity: 'medium',
  verifies: 'No active device certificate has expired or expires within 14 days.',
  how: 'Reads notAfter of every active device certificate in the registry.',
  references: {
    owasp: DEVICE_SECURITY,
    hipaa: AUTHENTICATION,
    deviceDefender: 'DEVICE_CERTIFICATE_EXPIRING_CHECK',
  },
  run({ store, now }) {
    const active = store.certificates.listByStatus('active').filter((c) => c.purpose === 'device');
    const expired = active.filter((c) => c.notAfter <= now).map((c) => c.deviceId ?? c.serial);
    const soon = active
      .filter((c) => c.notAfter > now && c.notAfter - now < 14 * DAY)
      .map((c) => c.deviceId ?? c.serial);
    if (expired.length) {
      return fail(`expired device certificates: ${listIds(expired)}`, 'Renew or re-enroll these devices.');
    }
    if (soon.length)
      return warn(`expiring within 14 days: ${listIds(soon)}`, 'Renew these devices (rotate-cert command).');
    return pass(`${active.length} active device certificates, none expiring within 14 days`);
  },
};

export const certificateAge: DeploymentCheck = {
  id: 'VG-PKI-003',
  title: 'Certificates are rotated within the rotation policy',
  severity: 'low',
  verifies: 'No active device certificate is older than VITALGATE_CERT_ROTATION_DAYS.',
  how: 'Compares notBefore of every active device certificate with the rotation policy.',
  references: {
    owasp: DEVICE_SECURITY,
    hipaa: AUTHENTICATION,
    deviceDefender: 'DEVICE_CERTIFICATE_AGE_CHECK',
  },
  run({ store, config, now }) {
    const old = store.certificates
      .listByStatus('active')
      .filter((c) => c.purpose === 'device' && now - c.notBefore > config.certRotationDays * DAY)
      .map((c) => c.deviceId ?? c.serial);
    return old.length
      ? warn(
          `certificates older than ${config.certRotationDays} days: ${listIds(old)}`,
          'Renew these devices.',
        )
      : pass(`all active device certificates are younger than ${config.certRotationDays} days`);
  },
};

export const keyQuality: DeploymentCheck = {
  id: 'VG-PKI-004',
  title: 'Device and CA keys are strong',
  severity: 'high',
  verifies: 'Every active key is ECDSA P-256/P-384 or RSA ≥ 2048 without the ROCA fingerprint.',
  how: 'Parses the public key of every active certificate and applies the enrollment key gates and the ROCA test.',
  references: {
    owasp: DEVICE_SECURITY,
    hipaa: AUTHENTICATION,
    deviceDefender: 'DEVICE_CERTIFICATE_KEY_QUALITY_CHECK',
  },
  run({ store }) {
    const weak: string[] = [];
    const active = store.certificates.listByStatus('active');
    for (const record of active) {
      const cert = new x509.X509Certificate(record.certificatePem);
      const label = record.deviceId ?? `${record.purpose}:${record.serial}`;
      try {
        const key = assessPublicKey(cert.publicKey.rawData);
        if (key.type === 'rsa') {
          const jwk = createPublicKey(record.certificatePem).export({ format: 'jwk' });
          const n = BigInt(`0x${Buffer.from(jwk.n ?? '', 'base64url').toString('hex')}`);
          if (hasRocaFingerprint(n)) weak.push(`${label} (ROCA fingerprint)`);
        }
      } catch (err) {
        weak.push(`${label} (${(err as { code?: string }).code ?? 'unreadable key'})`);
      }
    }
    return weak.length
      ? fail(
          `weak keys: ${listIds(weak)}`,
          'Revoke these certificates and re-enroll the devices with new keys.',
        )
      : pass(`${active.length} active certificates, all keys strong`);
  },
};

export const revokedStillActive: DeploymentCheck = {
  id: 'VG-PKI-005',
  title: 'Revoked devices hold no usable certificate or session',
  severity: 'critical',
  verifies:
    'Registry, CRL and live sessions agree: no revoked or wiped device has an unrevoked certificate or a live session.',
  how: 'Cross-checks device status, certificate status, the published CRL and the broker’s live sessions.',
  references: {
    owasp: DEVICE_SECURITY,
    hipaa: '164.312(a)(1) Access control',
    deviceDefender: 'REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK',
  },
  async run({ store, authority, live }) {
    const problems: string[] = [];
    for (const device of [
      ...store.devices.list({ status: 'revoked' }),
      ...store.devices.list({ status: 'wiped' }),
    ]) {
      const usable = store.certificates.listForDevice(device.id).filter((c) => c.status !== 'revoked');
      if (usable.length) problems.push(`${device.id}: ${usable.length} unrevoked certificate(s)`);
    }
    const crl = new x509.X509Crl((await authority.currentRevocationList()).pem);
    const onCrl = new Set(crl.entries.map((e) => e.serialNumber.toLowerCase().replace(/^(00)+/, '')));
    const now = Date.now();
    for (const cert of store.certificates.listByStatus('revoked')) {
      if (cert.notAfter > now && !onCrl.has(cert.serial))
        problems.push(`certificate ${cert.serial} revoked but not on the CRL`);
    }
    for (const session of live?.liveSessions() ?? []) {
      const device = store.devices.get(session.deviceId);
      const cert = store.certificates.get(session.serial);
      if (device?.status !== 'active' || cert?.status === 'revoked') {
        problems.push(`${session.deviceId} connected with ${device?.status ?? 'unknown'} status`);
      }
    }
    return problems.length
      ? fail(
          listIds(problems),
          'Revoke the listed certificates (vitalgate device revoke) and restart the broker if sessions stay.',
        )
      : pass(
          `registry and CRL (${onCrl.size} entries) agree${live ? '; no revoked device has a live session' : ''}`,
        );
  },
};

export const crlFresh: DeploymentCheck = {
  id: 'VG-PKI-006',
  title: 'The CRL is fresh',
  severity: 'high',
  verifies: 'The published CRL has a nextUpdate in the future and is signed by the issuing CA.',
  how: 'Parses the published CRL, checks its signature with the issuing CA key and its nextUpdate.',
  references: { owasp: DEVICE_SECURITY, hipaa: INTEGRITY },
  async run({ store, authority, now }) {
    const pem = store.meta.get('crl_pem');
    if (!pem)
      return fail('no CRL has been published', 'Run "vitalgate init" or start the hub to publish a CRL.');
    const crl = new x509.X509Crl(pem);
    const signed = await crl.verify({ publicKey: authority.issuingCertificate.publicKey });
    const next = crl.nextUpdate?.getTime() ?? 0;
    if (!signed)
      return fail('the published CRL signature does not verify', 'Republish the CRL from the hub.');
    if (next <= now) {
      return fail(
        `CRL nextUpdate ${new Date(next).toISOString()} has passed`,
        'Start the hub; it re-issues the CRL before nextUpdate.',
      );
    }
    return pass(
      `CRL number ${authority.publishedRevocationNumber()}, next update ${new Date(next).toISOString()}`,
    );
  },
};

export const caKeysEncrypted: DeploymentCheck = {
  id: 'VG-PKI-007',
  title: 'CA keys are encrypted at rest',
  severity: 'critical',
  verifies: 'No hub private key is stored in plain PKCS#8; each opens only with the master key.',
  how: 'Tries to parse each stored key blob as a private key (must fail), then opens it with the keyring (must succeed).',
  references: { owasp: 'Device security controls', hipaa: '164.312(a)(2)(iv) Encryption and decryption' },
  run({ store, keyring }) {
    const plain: string[] = [];
    const unreadable: string[] = [];
    const material = store.pkiMaterial.list();
    for (const m of material) {
      try {
        // Plain PKCS#8 parses as a private key: that must not work on a sealed blob.
        createPrivateKey({ key: m.sealedKey, format: 'der', type: 'pkcs8' });
        plain.push(m.name);
      } catch {
        try {
          keyring.openSecret(`pki:${m.name}`, m.sealedKey);
        } catch {
          unreadable.push(m.name);
        }
      }
    }
    if (plain.length)
      return fail(`plaintext keys: ${plain.join(', ')}`, 'Re-initialise the PKI; keys must be sealed.');
    if (unreadable.length) {
      return fail(
        `keys that the master key cannot open: ${unreadable.join(', ')}`,
        'Check VITALGATE_MASTER_KEY.',
      );
    }
    return pass(`${material.length} keys sealed with AES-256-GCM under the master key`);
  },
};

export const masterKeyNextToData: DeploymentCheck = {
  id: 'VG-PKI-008',
  title: 'The master key is kept apart from the data',
  severity: 'medium',
  verifies: 'The master key does not sit in the data directory it protects.',
  how: 'Looks at where the master key was loaded from.',
  references: { owasp: 'Device security controls', hipaa: '164.312(a)(2)(iv) Encryption and decryption' },
  run({ masterKey, config }) {
    if (masterKey.origin === 'env') return pass('master key comes from VITALGATE_MASTER_KEY');
    const inside = resolve(dirname(masterKey.origin)).startsWith(resolve(config.dataDir));
    return inside
      ? warn(
          `master key file ${masterKey.origin} is inside the data dir`,
          'Move the key to a secret store and pass it as VITALGATE_MASTER_KEY, so a copy of the data dir alone cannot be decrypted.',
        )
      : pass(`master key file ${masterKey.origin} is outside the data dir`);
  },
};

export const PKI_CHECKS: DeploymentCheck[] = [
  caCertificateExpiring,
  deviceCertificatesExpiring,
  certificateAge,
  keyQuality,
  revokedStillActive,
  crlFresh,
  caKeysEncrypted,
  masterKeyNextToData,
];
