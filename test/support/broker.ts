// A real DeviceBroker on a free loopback port with the test PKI's TLS material, and an mqtt.js
// device client with a hub-issued certificate.
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { DeviceBroker, type IntakeOutcome, type TelemetryIntake } from '../../broker/device-broker.js';
import type { DeviceIdentity } from '../../broker/identity.js';
import type { DeviceCredentials, TestPki } from './hub-pki.js';

/** Records what reached the intake: the refusal tests check that nothing did. */
export class RecordingIntake implements TelemetryIntake {
  readonly accepted: { deviceId: string; payload: string }[] = [];
  async accept(device: DeviceIdentity, payload: Buffer): Promise<IntakeOutcome> {
    this.accepted.push({ deviceId: device.deviceId, payload: payload.toString() });
    return { outcome: 'accepted' };
  }
}

export async function startTestBroker(pki: TestPki, limits: Record<string, string> = {}) {
  const config = loadConfig({ env: { VITALGATE_DATA_DIR: pki.dataDir, ...limits } });
  const intake = new RecordingIntake();
  const registry = new Registry();
  const tls = pki.authority.serverTls();
  const broker = new DeviceBroker({
    store: pki.store,
    limits: config,
    tls: {
      ...tls,
      ca: pki.authority.caBundlePem(),
      anchors: pki.authority.deviceTrustAnchorPem(),
      crl: pki.authority.tlsRevocationPem(),
    },
    registry,
    logger: silentLogger(),
    intake,
  });
  pki.authority.onRevocationListChange(() => broker.updateCrl(pki.authority.tlsRevocationPem()));
  const port = await broker.start({ host: '127.0.0.1', port: 0 });
  return { broker, port, intake, registry, stop: () => broker.stop() };
}

export function connectDevice(
  port: number,
  creds: Pick<DeviceCredentials, 'keyPem' | 'certPem' | 'caPem'>,
  clientId: string,
  extra: mqtt.IClientOptions = {},
): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({
      host: '127.0.0.1',
      port,
      protocol: 'mqtts',
      protocolVersion: 4,
      clientId,
      key: creds.keyPem,
      cert: creds.certPem,
      ca: creds.caPem,
      servername: 'localhost',
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...extra,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

export function publishQos1(
  client: MqttClient,
  topic: string,
  payload: string,
  retain = false,
): Promise<void> {
  return new Promise((resolve, reject) =>
    client.publish(topic, payload, { qos: 1, retain }, (err) => (err ? reject(err) : resolve())),
  );
}
