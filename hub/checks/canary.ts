// Active self-tests against the live broker: a throwaway canary certificate is issued, revoked,
// and must then be refused; and the topic ACL is linted against hostile topics.
import { randomBytes } from 'node:crypto';
import { authorizeDevicePublish, authorizeDeviceSubscribe, deviceTopics } from '../../broker/acl.js';
import { DeviceLifecycle } from '../../pki/lifecycle.js';
import { EnrollmentTokenService } from '../../pki/enrollment-tokens.js';
import { DeviceEnrollment } from '../../pki/enrollment.js';
import { exportPkcs8, generateKeyPair, pkcs8ToPem, x509 } from '../../pki/crypto-provider.js';
import { deviceSanUri } from '../../pki/csr.js';
import { fail, notApplicable, pass, type DeploymentCheck } from './check.js';
import { probeTls } from './probes.js';

export const CANARY_MODEL = 'vitalgate-canary';

export const revocationCanary: DeploymentCheck = {
  id: 'VG-PKI-009',
  title: 'A revoked certificate is refused by the live broker (canary)',
  severity: 'critical',
  verifies:
    'Revocation reaches the running broker: a certificate issued and then revoked gets no MQTT session.',
  how: 'Enrolls a throwaway canary device, checks that it can connect, revokes it, waits for the CRL to reach the broker, and tries again.',
  references: {
    owasp: 'Security testing',
    hipaa: '164.312(d) Person or entity authentication',
    deviceDefender: 'REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK',
  },
  async run({ live, store, authority, config }) {
    if (!live) return notApplicable('the hub is not running');
    const deviceId = `canary-${randomBytes(4).toString('hex')}`;
    store.devices.add({ id: deviceId, kind: 'thermometer', model: CANARY_MODEL });
    const tokens = new EnrollmentTokenService(store.enrollmentTokens, store.devices, store.audit);
    const { token } = tokens.issue(deviceId, 60_000, 'system:checks');
    const keys = await generateKeyPair('P-256');
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: `CN=${deviceId}`,
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceSanUri(deviceId) }]),
      ],
    });
    const issued = await new DeviceEnrollment(store, authority, tokens, config).enroll(
      token,
      csr.toString('pem'),
    );
    const credentials = {
      key: pkcs8ToPem(await exportPkcs8(keys.privateKey)),
      cert: issued.certificatePem,
      clientId: deviceId,
      servername: 'localhost',
    };
    const before = await probeTls(live.mqtt.host, live.mqtt.port, credentials);
    await new DeviceLifecycle(store, authority).apply(
      deviceId,
      'revoke',
      'deployment check canary',
      'system:checks',
    );
    await new Promise((r) => setTimeout(r, 1_500)); // a hub in another process picks up the CRL within a second
    const after = await probeTls(live.mqtt.host, live.mqtt.port, credentials);
    if (!before.connack)
      return fail(
        `the canary ${deviceId} could not connect before revocation (${before.error ?? 'no CONNACK'})`,
        'Check the broker and the issuing CA.',
      );
    if (after.connack)
      return fail(
        `the revoked canary ${deviceId} still got a session`,
        'Restart the hub and check that CRL updates reach the broker.',
      );
    return pass(
      `canary ${deviceId} connected, was revoked, and was then refused${after.handshake ? ' at CONNECT' : ' at the TLS handshake'}`,
    );
  },
};

const HOSTILE_TOPICS = [
  '#',
  '+/+/telemetry',
  'devices/+/commands',
  'devices/other/telemetry',
  'devices/other/commands',
  '$SYS/#',
  'devices/SELF/commands/#',
];

/** The ACL VG-NET-004 lints: the broker's own (broker/acl.ts); a test hands it broken ones. */
export interface DeviceAcl {
  publish: typeof authorizeDevicePublish;
  subscribe: typeof authorizeDeviceSubscribe;
}

export const BROKER_ACL: DeviceAcl = { publish: authorizeDevicePublish, subscribe: authorizeDeviceSubscribe };

/** VG-NET-004 over `acl`. */
export function aclLintOf(acl: DeviceAcl): DeploymentCheck {
  return {
    id: 'VG-NET-004',
    title: 'The device ACL grants only a device’s own topics',
    severity: 'critical',
    verifies:
      'No wildcard, foreign, $SYS or retained publish or subscription is allowed to a device; its own topics are.',
    how: 'Runs the ACL the broker uses against hostile topics and the device’s own topics.',
    references: {
      owasp: 'Network security controls',
      hipaa: '164.312(a)(1) Access control',
      deviceDefender: 'IOT_POLICY_OVERLY_PERMISSIVE_CHECK',
    },
    run() {
      const topics = deviceTopics('SELF');
      const allowedHostile = HOSTILE_TOPICS.filter(
        (t) => acl.publish(topics, t, false).allowed || acl.subscribe(topics, t) === null,
      );
      const ownOk =
        acl.publish(topics, topics.telemetry, false).allowed &&
        acl.subscribe(topics, topics.commands) === null;
      if (allowedHostile.length)
        return fail(
          `the ACL allows ${allowedHostile.join(', ')}`,
          'Restore the least-privilege ACL in broker/acl.ts.',
        );
      if (acl.publish(topics, topics.telemetry, true).allowed)
        return fail(
          'the ACL allows a retained publish on a device’s own telemetry',
          'Restore broker/acl.ts.',
        );
      if (!ownOk)
        return fail('the ACL does not allow a device its own topics as specified', 'Restore broker/acl.ts.');
      return pass(
        `${HOSTILE_TOPICS.length} hostile topics refused; own telemetry/commands allowed; retained refused`,
      );
    },
  };
}

export const aclLint = aclLintOf(BROKER_ACL);
