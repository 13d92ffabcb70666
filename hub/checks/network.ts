// Broker and network checks: probes of the live listeners, the limits in force, and what the
// broker recorded (conflicting client ids, shared certificates, connections from outside a
// device's allowed networks).
import {
  fail,
  listIds,
  notApplicable,
  pass,
  warn,
  type CheckContext,
  type DeploymentCheck,
} from './check.js';
import { probePlainMqtt, probeTls } from './probes.js';

const NETWORK = 'Network security controls';
const TRANSMISSION = '164.312(e)(1) Transmission security';
const DAY = 86_400_000;

function liveOrNa(ctx: CheckContext) {
  return ctx.live
    ? undefined
    : notApplicable('the hub is not running: start it with "vitalgate start" and run the checks again');
}

export const noPlaintextListener: DeploymentCheck = {
  id: 'VG-NET-001',
  title: 'No plaintext MQTT listener',
  severity: 'critical',
  verifies:
    'Neither the device port nor the standard plaintext MQTT port answers an unencrypted MQTT CONNECT.',
  how: 'Sends a plain MQTT CONNECT to the device port and to port 1883 on the bind address; any CONNACK fails the check.',
  references: { owasp: NETWORK, hipaa: TRANSMISSION },
  async run(ctx) {
    const na = liveOrNa(ctx);
    if (na) return na;
    const host = ctx.live!.mqtt.host;
    const ports = [...new Set([ctx.live!.mqtt.port, 1883])];
    const open: string[] = [];
    for (const port of ports)
      if ((await probePlainMqtt(host, port)) === 'connack') open.push(`${host}:${port}`);
    return open.length
      ? fail(
          `plaintext MQTT answered on ${open.join(', ')}`,
          'Close the plaintext listener; devices must use mutual TLS on 8883.',
        )
      : pass(`no plaintext MQTT on ${ports.map((p) => `${host}:${p}`).join(', ')}`);
  },
};

export const tlsVersionAndCiphers: DeploymentCheck = {
  id: 'VG-NET-002',
  title: 'TLS 1.2+ with AEAD cipher suites only',
  severity: 'high',
  verifies:
    'The device listener and the API listener refuse TLS 1.1 and older, and negotiate only AEAD suites.',
  how: 'On each listener: attempts a TLS 1.1 handshake (must fail), then TLS 1.2 with a CBC-only offer (must fail) and a default offer (must be GCM or ChaCha20).',
  references: { owasp: NETWORK, hipaa: TRANSMISSION },
  async run(ctx) {
    const na = liveOrNa(ctx);
    if (na) return na;
    const listeners: [string, { host: string; port: number }][] = [['device listener', ctx.live!.mqtt]];
    if (ctx.live!.api) listeners.push(['API listener', ctx.live!.api]);
    const problems: string[] = [];
    const negotiated: string[] = [];
    for (const [name, { host, port }] of listeners) {
      const old = await probeTls(host, port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
      const cbc = await probeTls(host, port, {
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA',
      });
      const modern = await probeTls(host, port, {});
      if (old.handshake) problems.push(`${name} accepted ${old.protocol}`);
      if (cbc.handshake) problems.push(`${name} accepted CBC suite ${cbc.cipher}`);
      if (modern.handshake && !/GCM|CHACHA20/.test(modern.cipher ?? ''))
        problems.push(`${name} negotiated ${modern.cipher}`);
      negotiated.push(`${name} ${modern.protocol ?? 'TLS'} ${modern.cipher ?? ''}`.trim());
    }
    if (problems.length)
      return fail(problems.join('; '), 'Set minVersion TLSv1.2 and AEAD-only ciphers on the listener.');
    return pass(`TLS 1.1 and CBC refused; default negotiates ${negotiated.join(', ')}`);
  },
};

export const clientCertificateRequired: DeploymentCheck = {
  id: 'VG-NET-003',
  title: 'A client certificate is required',
  severity: 'critical',
  verifies: 'A TLS client without a certificate gets no MQTT session.',
  how: 'Connects without a client certificate and sends an MQTT CONNECT; a CONNACK with code 0 fails the check.',
  references: { owasp: NETWORK, hipaa: '164.312(d) Person or entity authentication' },
  async run(ctx) {
    const na = liveOrNa(ctx);
    if (na) return na;
    const { host, port } = ctx.live!.mqtt;
    const result = await probeTls(host, port, {});
    return result.connack
      ? fail(
          'an MQTT session was granted without a client certificate',
          'Require and verify client certificates (requestCert + rejectUnauthorized).',
        )
      : pass('no session without a client certificate');
  },
};

export const limitsOn: DeploymentCheck = {
  id: 'VG-NET-005',
  title: 'Packet size and rate limits are on',
  severity: 'medium',
  verifies:
    'Maximum payload ≤ 1 MiB, per-device message and byte rates, per-source connection rate and a connection cap are set.',
  how: 'Reads the limits the broker runs with.',
  references: {
    owasp: NETWORK,
    hipaa: '164.312(a)(1) Access control',
    deviceDefender: 'Detect: message size and rate behaviors',
  },
  run({ config }) {
    const problems: string[] = [];
    if (config.maxPayloadBytes > 1024 * 1024) problems.push(`max payload ${config.maxPayloadBytes} bytes`);
    if (config.deviceMessagesPerSecond > 1000)
      problems.push(`device message rate ${config.deviceMessagesPerSecond}/s`);
    if (config.connectsPerSourcePerMinute > 600)
      problems.push(`connections per source ${config.connectsPerSourcePerMinute}/min`);
    return problems.length
      ? warn(
          problems.join('; '),
          'Lower the limits (VITALGATE_MAX_PAYLOAD_BYTES, VITALGATE_DEVICE_MESSAGES_PER_SECOND, …).',
        )
      : pass(
          `payload ≤ ${config.maxPayloadBytes} B, ${config.deviceMessagesPerSecond} msg/s and ${config.deviceBytesPerSecond} B/s per device, ${config.connectsPerSourcePerMinute} connects/min per source, cap ${config.maxConnections}`,
        );
  },
};

function recentEvents(ctx: CheckContext, kind: string) {
  return ctx.store.securityEvents.list({ kind, since: ctx.now - DAY, limit: 1000 });
}

export const conflictingClientIds: DeploymentCheck = {
  id: 'VG-NET-006',
  title: 'No conflicting client ids',
  severity: 'high',
  verifies: 'No device id was used by two sessions at once in the last 24 hours.',
  how: 'Reads the broker’s conflicting-client-id security events.',
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(d) Person or entity authentication',
    deviceDefender: 'CONFLICTING_CLIENT_IDS_CHECK',
  },
  run(ctx) {
    const events = recentEvents(ctx, 'conflicting_client_id');
    const ids = [...new Set(events.map((e) => e.deviceId ?? '?'))];
    return ids.length
      ? fail(
          `conflicting sessions for ${listIds(ids)}`,
          'Check these devices for clones; revoke and re-enroll if one is not genuine.',
        )
      : pass('no conflicting client ids in the last 24 hours');
  },
};

export const sharedCertificates: DeploymentCheck = {
  id: 'VG-NET-007',
  title: 'No certificate shared across concurrent sessions',
  severity: 'critical',
  verifies:
    'No certificate was used by two concurrent sessions from different addresses in the last 24 hours.',
  how: 'Reads the broker’s shared-certificate security events.',
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(d) Person or entity authentication',
    deviceDefender: 'DEVICE_CERTIFICATE_SHARED_CHECK',
  },
  run(ctx) {
    const events = recentEvents(ctx, 'shared_certificate');
    const ids = [...new Set(events.map((e) => e.deviceId ?? '?'))];
    return ids.length
      ? fail(`certificates shared by ${listIds(ids)}`, 'Revoke these certificates: the keys were copied.')
      : pass('no shared certificates in the last 24 hours');
  },
};

export const outsideAllowedNetworks: DeploymentCheck = {
  id: 'VG-NET-008',
  title: 'Devices connect only from their allowed networks',
  severity: 'medium',
  verifies: 'No device tried to connect from outside its allowed networks in the last 24 hours.',
  how: 'Reads connection refusals with the SOURCE_NOT_ALLOWED code.',
  references: {
    owasp: NETWORK,
    hipaa: '164.312(a)(1) Access control',
    deviceDefender: 'Detect: source IP behavior',
  },
  run(ctx) {
    const events = recentEvents(ctx, 'connection_refused').filter(
      (e) => e.details?.code === 'SOURCE_NOT_ALLOWED',
    );
    const ids = [...new Set(events.map((e) => `${e.deviceId ?? '?'} from ${e.source ?? '?'}`))];
    return ids.length
      ? warn(
          `connections from outside allowed networks: ${listIds(ids)}`,
          'Investigate: a stolen device or a changed home network.',
        )
      : pass('no connections from outside allowed networks in the last 24 hours');
  },
};

export const NETWORK_CHECKS: DeploymentCheck[] = [
  noPlaintextListener,
  tlsVersionAndCiphers,
  clientCertificateRequired,
  limitsOn,
  conflictingClientIds,
  sharedCertificates,
  outsideAllowedNetworks,
];
