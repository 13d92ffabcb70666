// One MQTT connection of a device: mutual TLS with the device's key and certificate, client id =
// device id, MQTT 3.1.1, a clean session (the device's own outbox, not the broker, holds what is
// unsent), and no automatic reconnect (the device client decides when to try again). A failed
// connect is classified: a refusal by the hub (TLS alert, CONNACK code) or the hub being away.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { connectHost, serverName } from './hub-api.js';

export interface ConnectionTarget {
  host: string;
  port: number;
  /** Source address (a fleet spreads devices over loopback addresses). */
  localAddress?: string | undefined;
}

export interface ConnectionCredentials {
  deviceId: string;
  keyPem: string;
  certPem: string;
  caBundlePem: string;
}

/** Why a connect failed: refused by the hub (with a code), or the hub could not be reached. */
export interface ConnectFailure {
  refused: boolean;
  code: string;
}

const CONNACK_CODES: Record<number, string> = {
  1: 'UNACCEPTABLE_PROTOCOL_VERSION',
  2: 'IDENTIFIER_REJECTED',
  3: 'SERVER_UNAVAILABLE',
  4: 'BAD_USERNAME_OR_PASSWORD',
  5: 'NOT_AUTHORIZED',
};

const TLS_ALERTS: [RegExp, string][] = [
  [/certificate.revoked/i, 'CERTIFICATE_REVOKED'],
  [/certificate.expired/i, 'CERTIFICATE_EXPIRED'],
  [/unknown.ca/i, 'CERTIFICATE_UNTRUSTED'],
  [/certificate.required/i, 'CERTIFICATE_REQUIRED'],
  [/bad.certificate|unsupported.certificate|certificate.unknown/i, 'CERTIFICATE_REFUSED'],
  [/handshake.failure|protocol.version|alert/i, 'TLS_REFUSED'],
];

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function classifyConnectError(err: unknown): ConnectFailure {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'number')
    return { refused: true, code: CONNACK_CODES[e.code] ?? `CONNACK_${e.code}` };
  const code = typeof e?.code === 'string' ? e.code : '';
  const text = `${code} ${typeof e?.message === 'string' ? e.message : ''}`;
  for (const [pattern, name] of TLS_ALERTS) if (pattern.test(text)) return { refused: true, code: name };
  if (UNREACHABLE.has(code)) return { refused: false, code };
  if (code === 'EADDRNOTAVAIL') return { refused: false, code };
  // The hub closed the connection before CONNACK without saying why. Over TLS 1.3 this is how a
  // refused client certificate looks from the device (the server verifies it after the handshake
  // and closes without an alert the client reads): the hub's own records say which refusal.
  if (code === 'ECONNRESET' || code === 'EPIPE' || /closed/i.test(text))
    return { refused: true, code: 'CLOSED_BEFORE_CONNACK' };
  return { refused: false, code: code || 'CONNECT_FAILED' };
}

export function mqttOptions(
  target: ConnectionTarget,
  credentials: ConnectionCredentials,
  extra: Partial<IClientOptions> = {},
): IClientOptions {
  const servername = serverName(target.host);
  return {
    host: connectHost(target.host),
    port: target.port,
    protocol: 'mqtts',
    protocolVersion: 4,
    clientId: credentials.deviceId,
    key: credentials.keyPem,
    cert: credentials.certPem,
    ca: credentials.caBundlePem,
    ...(servername ? { servername } : {}),
    ...(target.localAddress ? { localAddress: target.localAddress } : {}),
    rejectUnauthorized: true,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: 30,
    queueQoSZero: false,
    ...extra,
  } as IClientOptions;
}

/**
 * Connects once. Resolves with the live client, or rejects with a ConnectFailure. The caller
 * owns the client afterwards (its 'close' event ends the connection).
 */
export function openConnection(
  target: ConnectionTarget,
  credentials: ConnectionCredentials,
  extra: Partial<IClientOptions> = {},
): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(mqttOptions(target, credentials, extra));
    let settled = false;
    let lastError: unknown;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      client.removeAllListeners();
      client.on('error', () => {});
      client.end(true);
      reject(classifyConnectError(err));
    };
    client.on('error', (err) => {
      lastError = err;
      // CONNACK refusals and TLS alerts arrive as errors; mqtt.js closes afterwards.
      if (typeof (err as { code?: unknown }).code === 'number') fail(err);
    });
    client.once('connect', () => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('error');
      client.on('error', () => {});
      resolve(client);
    });
    client.once('close', () => fail(lastError ?? new Error('connection closed before CONNACK')));
  });
}

/**
 * QoS 1 publish: true once the PUBACK arrived, false if the connection ended first (mqtt.js
 * keeps a QoS 1 message for a resend on the same client; this device never reuses a client).
 */
export function publishAcked(
  client: MqttClient,
  topic: string,
  payload: string | Buffer,
  options: { retain?: boolean } = {},
): Promise<boolean> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve(false);
    let done = false;
    const settle = (ok: boolean) => {
      if (done) return;
      done = true;
      client.off('close', onClose);
      resolve(ok);
    };
    const onClose = () => settle(false);
    client.on('close', onClose);
    client.publish(topic, payload, { qos: 1, retain: options.retain ?? false }, (err) => settle(!err));
  });
}

/** Ends a connection gracefully (DISCONNECT), or by force after 2 s. */
export async function closeConnection(client: MqttClient): Promise<void> {
  await Promise.race([
    new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
    new Promise<void>((resolve) => setTimeout(resolve, 2_000)),
  ]);
  if (!client.disconnected) client.end(true);
}
