// The hostile-input catalogue, device side (issue 22; listed in docs/SECURITY.md): certificates,
// topics, payloads and raw MQTT bytes against the real mutual-TLS broker, ingest pipeline and
// InfluxDB of one test hub. Every case asserts its refusal AND that nothing was stored or granted:
// no live session where a connection is refused, the control plane unchanged
// (test/support/stored-state.ts), a dead letter with its reason and nothing else for a refused
// payload, and at the end, InfluxDB holding the one valid message's readings and nothing more.
import { connect as tlsConnect } from 'node:tls';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../../core/influx.js';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';
import { addPatient, countPoints } from '../../support/ingest.js';
import { deadLetterCount, storedState } from '../../support/stored-state.js';
import { startTestHub, waitFor, type TestHub } from '../api/harness.js';
import { eventually, reissueWithValidity } from '../broker/harness.js';

let hub: TestHub;
let foreign: TestPki;
const creds: Record<string, DeviceCredentials> = {};
const DAY = 86_400_000;

beforeAll(async () => {
  hub = await startTestHub();
  foreign = await createTestPki();
  const patient = addPatient(hub.pki, 'Ada Lovelace');
  for (const id of ['ox-pay', 'ox-topic', 'ox-raw', 'ox-revoked', 'ox-disabled']) {
    creds[id] = await hub.pki.issueDevice(id, 'pulse_oximeter', { patientId: patient });
  }
  creds.foreign = await foreign.issueDevice('ox-pay', 'pulse_oximeter');
  creds.expired = await reissueWithValidity(hub.pki, creds['ox-pay']!, Date.now() - 10 * DAY, 5);
  await hub.deps.lifecycle.apply('ox-revoked', 'revoke', 'catalogue: a revoked device', 'test');
  await hub.deps.lifecycle.apply('ox-disabled', 'disable', 'catalogue: a disabled device', 'test');
}, 120_000);

afterAll(async () => {
  await hub?.close();
  foreign?.cleanup();
});

// ── certificates ────────────────────────────────────────────────────────────────────────────

/** A self-signed certificate with the device's name: right CN, no hub signature. */
async function selfSigned(deviceId: string): Promise<Pick<DeviceCredentials, 'certPem' | 'keyPem'>> {
  const { generateKeyPair, exportPkcs8, pkcs8ToPem, x509, SIGNING_ALGORITHM } =
    await import('../../../pki/crypto-provider.js');
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${deviceId}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.2'])],
  });
  return { certPem: cert.toString('pem'), keyPem: pkcs8ToPem(await exportPkcs8(keys.privateKey)) };
}

const CERTIFICATES: { name: string; who: string; connect: () => Promise<MqttClient> }[] = [
  {
    name: 'no client certificate',
    who: 'ox-pay',
    connect: () =>
      connectDevice(hub.brokerPort, { caPem: creds['ox-pay']!.caPem, certPem: '', keyPem: '' }, 'ox-pay', {
        key: undefined,
        cert: undefined,
      }),
  },
  {
    name: 'a self-signed certificate with the device’s name',
    who: 'ox-pay',
    connect: async () =>
      connectDevice(hub.brokerPort, { ...creds['ox-pay']!, ...(await selfSigned('ox-pay')) }, 'ox-pay'),
  },
  {
    name: 'a certificate from another hub’s CA',
    who: 'ox-pay',
    connect: () =>
      connectDevice(hub.brokerPort, { ...creds.foreign!, caPem: creds['ox-pay']!.caPem }, 'ox-pay'),
  },
  {
    name: 'an expired certificate of this hub',
    who: 'ox-pay',
    connect: () => connectDevice(hub.brokerPort, creds.expired!, 'ox-pay'),
  },
  {
    name: 'a revoked certificate',
    who: 'ox-revoked',
    connect: () => connectDevice(hub.brokerPort, creds['ox-revoked']!, 'ox-revoked'),
  },
  {
    name: 'a disabled device',
    who: 'ox-disabled',
    connect: () => connectDevice(hub.brokerPort, creds['ox-disabled']!, 'ox-disabled'),
  },
  {
    name: 'a valid certificate with another device’s client id',
    who: 'ox-raw',
    connect: () => connectDevice(hub.brokerPort, creds['ox-pay']!, 'ox-raw'),
  },
  {
    name: 'a will on another device’s topic',
    who: 'ox-pay',
    connect: () =>
      connectDevice(hub.brokerPort, creds['ox-pay']!, 'ox-pay', {
        will: { topic: 'devices/ox-raw/status', payload: Buffer.from('{}'), qos: 1, retain: false },
      }),
  },
];

describe('certificates and identity', () => {
  for (const c of CERTIFICATES) {
    it(c.name, async () => {
      const before = storedState(hub.pki.store);
      await expect(c.connect()).rejects.toThrow();
      expect(hub.broker.isConnected(c.who)).toBe(false);
      expect(hub.broker.liveSessions()).toEqual([]);
      expect(storedState(hub.pki.store)).toEqual(before);
    });
  }
});

// ── topics ──────────────────────────────────────────────────────────────────────────────────

const envelope = (seq: number, readings: unknown[] = [{ type: 'spo2', value: 97, unit: '%' }]) =>
  JSON.stringify({ v: 1, seq, ts: Date.now(), readings });

const TOPICS: { name: string; code: string; act: (c: MqttClient) => Promise<unknown> }[] = [
  {
    name: 'publish to another device’s telemetry',
    code: 'TOPIC_NOT_ALLOWED',
    act: (c) => publishQos1(c, 'devices/ox-pay/telemetry', envelope(1)),
  },
  {
    name: 'publish to a wildcard-looking topic',
    code: 'TOPIC_NOT_ALLOWED',
    act: (c) => publishQos1(c, 'devices/ox-topic/telemetry/extra', envelope(1)),
  },
  {
    name: 'publish to $SYS',
    code: 'SYS_TOPIC_NOT_ALLOWED',
    act: (c) => publishQos1(c, '$SYS/broker/clients', envelope(1)),
  },
  {
    name: 'a retained publish on its own topic',
    code: 'RETAIN_NOT_ALLOWED',
    act: (c) => publishQos1(c, 'devices/ox-topic/telemetry', envelope(1), true),
  },
  {
    name: 'publish a forged command to itself',
    code: 'TOPIC_NOT_ALLOWED',
    act: (c) => publishQos1(c, 'devices/ox-topic/commands', '{"type":"wipe"}'),
  },
  {
    name: 'subscribe to another device’s commands',
    code: 'SUBSCRIPTION_NOT_ALLOWED',
    act: (c) => c.subscribeAsync('devices/ox-pay/commands', { qos: 1 }).catch(() => undefined),
  },
  {
    name: 'subscribe to everything',
    code: 'WILDCARD_NOT_ALLOWED',
    act: (c) => c.subscribeAsync('#', { qos: 1 }).catch(() => undefined),
  },
  {
    name: 'subscribe to another device’s telemetry',
    code: 'SUBSCRIPTION_NOT_ALLOWED',
    act: (c) => c.subscribeAsync('devices/ox-pay/telemetry', { qos: 0 }).catch(() => undefined),
  },
];

function aclCodes(deviceId: string): unknown[] {
  return hub.pki.store.audit
    .list({ action: 'broker.acl', target: `device:${deviceId}`, limit: 1000 })
    .map((e) => e.details?.code);
}

describe('topics', () => {
  for (const c of TOPICS) {
    it(c.name, async () => {
      // One connection per case: a session ends at its third violation, and each is counted.
      const client = await connectDevice(hub.brokerPort, creds['ox-topic']!, 'ox-topic');
      const before = storedState(hub.pki.store);
      const deniedBefore = aclCodes('ox-topic').filter((x) => x === c.code).length;
      await c.act(client);
      await client.endAsync();
      await eventually(() =>
        expect(aclCodes('ox-topic').filter((x) => x === c.code)).toHaveLength(deniedBefore + 1),
      );
      expect(deadLetterCount(hub.pki.store, 'ox-topic')).toBe(0);
      expect(storedState(hub.pki.store)).toEqual(before);
    });
  }
});

// ── payloads ────────────────────────────────────────────────────────────────────────────────

const PAYLOADS: { name: string; reason: string; payload: string | Buffer }[] = [
  { name: 'not JSON', reason: 'MALFORMED_JSON', payload: 'hello, hub' },
  { name: 'invalid UTF-8', reason: 'MALFORMED_JSON', payload: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
  { name: 'a JSON array', reason: 'SCHEMA_INVALID', payload: '[1,2,3]' },
  {
    name: 'an unknown envelope version',
    reason: 'SCHEMA_INVALID',
    payload: JSON.stringify({ v: 2, seq: 1, ts: Date.now(), readings: [] }),
  },
  { name: 'a negative seq', reason: 'SCHEMA_INVALID', payload: envelope(-1) },
  { name: 'a fractional seq', reason: 'SCHEMA_INVALID', payload: envelope(1.5) },
  {
    name: 'a seq as a string',
    reason: 'SCHEMA_INVALID',
    payload: envelope(1).replace('"seq":1', '"seq":"1"'),
  },
  {
    name: '__proto__ in the envelope',
    reason: 'SCHEMA_INVALID',
    payload: envelope(1).replace('{"v":1', '{"__proto__":{"admin":true},"v":1'),
  },
  {
    name: 'a reading type outside the device’s kind',
    reason: 'TYPE_NOT_ALLOWED_FOR_KIND',
    payload: envelope(1, [{ type: 'body_weight', value: 70, unit: 'kg' }]),
  },
  {
    name: 'an unknown reading type',
    reason: 'UNKNOWN_READING_TYPE',
    payload: envelope(1, [{ type: 'mood', value: 1 }]),
  },
  {
    name: 'SpO₂ of 150 %',
    reason: 'VALUE_OUT_OF_RANGE',
    payload: envelope(1, [{ type: 'spo2', value: 150, unit: '%' }]),
  },
  {
    name: 'a value as a string',
    reason: 'SCHEMA_INVALID',
    payload: envelope(1, [{ type: 'spo2', value: '97', unit: '%' }]),
  },
  {
    name: 'the wrong unit',
    reason: 'UNIT_MISMATCH',
    payload: envelope(1, [{ type: 'spo2', value: 97, unit: 'ppm' }]),
  },
  {
    name: 'a timestamp a day ahead',
    reason: 'CLOCK_SKEW',
    payload: JSON.stringify({
      v: 1,
      seq: 1,
      ts: Date.now() + DAY,
      readings: [{ type: 'spo2', value: 97, unit: '%' }],
    }),
  },
  {
    name: 'a timestamp from 1970',
    reason: 'TIMESTAMP_TOO_OLD',
    payload: JSON.stringify({ v: 1, seq: 1, ts: 1000, readings: [{ type: 'spo2', value: 97, unit: '%' }] }),
  },
  {
    name: 'more readings than allowed',
    reason: 'TOO_MANY_READINGS',
    payload: envelope(
      1,
      Array.from({ length: 501 }, () => ({ type: 'spo2', value: 97, unit: '%' })),
    ),
  },
  {
    name: 'JSON nested 5,000 deep',
    reason: 'SCHEMA_INVALID',
    payload: `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
  },
];

describe('payloads', () => {
  let client: MqttClient;
  beforeAll(async () => {
    client = await connectDevice(hub.brokerPort, creds['ox-pay']!, 'ox-pay');
  });
  afterAll(async () => client?.endAsync());

  for (const c of PAYLOADS) {
    it(c.name, async () => {
      const before = storedState(hub.pki.store);
      const letters = deadLetterCount(hub.pki.store, 'ox-pay');
      // The PUBACK comes once the refusal is durable: a dead letter with its reason.
      await new Promise<void>((resolve, reject) =>
        client.publish('devices/ox-pay/telemetry', c.payload as Buffer, { qos: 1 }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      expect(deadLetterCount(hub.pki.store, 'ox-pay')).toBe(letters + 1);
      expect(hub.pki.store.deadLetters.list({ deviceId: 'ox-pay', limit: 1 })[0]).toMatchObject({
        reason: c.reason,
      });
      expect(storedState(hub.pki.store)).toEqual(before);
    });
  }
});

// ── raw MQTT bytes ──────────────────────────────────────────────────────────────────────────

function mqttString(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function connectPacket(clientId: string, level = 4): Buffer {
  const variable = Buffer.concat([
    mqttString('MQTT'),
    Buffer.from([level, 0x02, 0x00, 0x3c]),
    ...(level === 5 ? [Buffer.from([0x00])] : []),
  ]);
  const payload = mqttString(clientId);
  return Buffer.concat([Buffer.from([0x10, variable.length + payload.length]), variable, payload]);
}

/** `sessionFirst`: the first packet is a valid CONNECT, so a session opens before the violation. */
const RAW: { name: string; bytes: () => Buffer; sessionFirst?: true }[] = [
  { name: 'garbage instead of CONNECT', bytes: () => Buffer.from('GET / HTTP/1.1\r\n\r\n') },
  { name: 'an MQTT 5 CONNECT', bytes: () => connectPacket('ox-raw', 5) },
  { name: 'a protocol level that does not exist', bytes: () => connectPacket('ox-raw', 9) },
  {
    name: 'PUBLISH before CONNECT',
    bytes: () =>
      Buffer.concat([Buffer.from([0x30, 0x1a]), mqttString('devices/ox-raw/telemetry'), Buffer.from('{}')]),
  },
  {
    name: 'a remaining length of five bytes',
    bytes: () => Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]),
  },
  { name: 'a CONNECT announcing 200 MB', bytes: () => Buffer.from([0x10, 0x80, 0x80, 0x80, 0x60]) },
  {
    name: 'two CONNECTs on one connection',
    bytes: () => Buffer.concat([connectPacket('ox-raw'), connectPacket('ox-raw')]),
    sessionFirst: true,
  },
  { name: 'a reserved packet type', bytes: () => Buffer.from([0xf0, 0x00]) },
];

/** Sends bytes over mutual TLS with a valid certificate; resolves with what came back once closed. */
function sendRaw(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = creds['ox-raw']!;
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: hub.brokerPort,
      servername: 'localhost',
      ca: c.caPem,
      cert: c.certPem,
      key: c.keyPem,
    });
    const chunks: Buffer[] = [];
    socket.on('secureConnect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

describe('raw MQTT bytes', () => {
  for (const c of RAW) {
    it(c.name, async () => {
      const before = storedState(hub.pki.store);
      const back = await sendRaw(c.bytes());
      // The connection is closed by the hub; no CONNACK accepting a session came back (but where
      // the first packet was a valid CONNECT), and nothing after it.
      const accepted = Buffer.from([0x20, 0x02, 0x00, 0x00]);
      expect(back.equals(accepted)).toBe(c.sessionFirst === true);
      expect(hub.broker.isConnected('ox-raw')).toBe(false);
      expect(deadLetterCount(hub.pki.store, 'ox-raw')).toBe(0);
      expect(storedState(hub.pki.store)).toEqual(before);
    });
  }
});

// ── what reached InfluxDB ───────────────────────────────────────────────────────────────────

describe('what the catalogue leaves in InfluxDB', () => {
  it('one valid message is stored once; its replay and every hostile case stored nothing', async () => {
    const influx = new InfluxClient({ url: hub.influx.url, database: hub.influx.database, timeoutMs: 2_000 });
    const client = await connectDevice(hub.brokerPort, creds['ox-pay']!, 'ox-pay');
    const valid = envelope(1, [
      { type: 'spo2', value: 96, unit: '%' },
      { type: 'heart_rate', value: 71, unit: '/min' },
    ]);
    await publishQos1(client, 'devices/ox-pay/telemetry', valid);
    const letters = deadLetterCount(hub.pki.store, 'ox-pay');
    await publishQos1(client, 'devices/ox-pay/telemetry', valid);
    expect(hub.pki.store.deadLetters.list({ deviceId: 'ox-pay', limit: 1 })[0]).toMatchObject({
      reason: 'DUPLICATE',
    });
    expect(deadLetterCount(hub.pki.store, 'ox-pay')).toBe(letters + 1);
    await client.endAsync();
    // The writer keeps spool order: once the valid readings are in, anything before them is too.
    let points = 0;
    await waitFor(() => {
      void countPoints(influx).then((n) => (points = n));
      return points >= 2;
    });
    expect(await countPoints(influx)).toBe(2);
  });
});
