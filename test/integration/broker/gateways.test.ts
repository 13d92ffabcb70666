// Gateways over real mutual TLS, with `mosquitto_pub` as the gateway (a phone app or home hub
// relaying Bluetooth devices), into a real ingest pipeline and a real InfluxDB: what a bound
// device's reading becomes, every refusal (counted, audited, stored nowhere), unbinding,
// revocation ending the gateway's session, and clock-drift correction (docs/GATEWAYS.md).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceBroker, type LiveSessionInfo } from '../../../broker/device-broker.js';
import { silentLogger } from '../../../core/logger.js';
import { GatewayRegistry } from '../../../dashboard-api/services/gateway-registry.js';
import type { IngestPipeline } from '../../../ingest/pipeline.js';
import { openReading, type StoredPoint } from '../../../ingest/sealing.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import type { DeviceCredentials, TestPki } from '../../support/hub-pki.js';
import { createTestPki } from '../../support/hub-pki.js';
import { testInflux, type TestInflux } from '../../support/influx.js';
import { addPatient } from '../../support/ingest.js';
import { runPeer, writeFiles } from '../../support/openssl.js';
import { countPoints, openTestPipeline, ownDataDir } from '../ingest/fixture.js';

let pki: TestPki;
let influx: TestInflux;
let pipeline: IngestPipeline;
let broker: DeviceBroker;
let registry: Registry;
let port: number;
let patientId: string;
let gateways: GatewayRegistry;
const files: Record<string, Record<string, string>> = {};

const SYSTEM_ID = '0011223344556677';
const MINUTE = 60_000;

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  patientId = addPatient(pki);
  const opened = openTestPipeline(pki, influx, {
    dataDir: ownDataDir(),
    env: { VITALGATE_ACL_VIOLATIONS_BEFORE_QUARANTINE: '4' },
  });
  pipeline = opened.pipeline;
  pipeline.start();
  registry = new Registry();
  broker = new DeviceBroker({
    store: pki.store,
    limits: opened.config,
    tls: {
      ...pki.authority.serverTls(),
      ca: pki.authority.caBundlePem(),
      crl: pki.authority.tlsRevocationPem(),
    },
    registry,
    logger: silentLogger(),
    intake: pipeline,
  });
  pki.authority.onRevocationListChange(() => broker.updateCrl(pki.authority.tlsRevocationPem()));
  port = await broker.start({ host: '127.0.0.1', port: 0 });
  gateways = new GatewayRegistry(pki.store, broker);
  for (const gw of ['gw-home', 'gw-phone', 'gw-rogue', 'gw-revoked', 'gw-hub']) await enrollGateway(gw);
  for (const [dev, kind] of [
    ['bp-1', 'bp_monitor'],
    ['scale-1', 'weight_scale'],
    ['glu-1', 'glucometer'],
    ['ox-1', 'pulse_oximeter'],
    ['bp-lone', 'bp_monitor'],
  ] as const)
    pki.store.devices.add({ id: dev, kind, patientId });
  gateways.bind('gw-home', 'bp-1', { systemId: SYSTEM_ID, serial: 'CUFF-1' }, 'test');
  gateways.bind('gw-home', 'scale-1', {}, 'test');
  gateways.bind('gw-home', 'glu-1', {}, 'test');
  gateways.bind('gw-phone', 'ox-1', {}, 'test');
  gateways.bind('gw-revoked', 'bp-lone', {}, 'test');
});

afterAll(async () => {
  await broker?.stop();
  await pipeline?.stop();
  await influx?.drop();
  pki?.cleanup();
});

async function enrollGateway(id: string): Promise<DeviceCredentials> {
  const creds = await pki.issueDevice(id, 'gateway');
  files[id] = writeFiles({ 'ca.pem': creds.caPem, 'cert.pem': creds.certPem, 'key.pem': creds.keyPem });
  return creds;
}

function tlsArgs(gw: string): string[] {
  const f = files[gw]!;
  return [
    ...['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-q', '1', '-i', gw],
    ...['--cafile', f['ca.pem']!, '--cert', f['cert.pem']!, '--key', f['key.pem']!],
  ];
}

/** One QoS 1 publish by the gateway; resolves once mosquitto_pub got its PUBACK and exited. */
async function relay(gw: string, dev: string, message: unknown, suffix = 'telemetry') {
  const topic = `gateways/${gw}/devices/${dev}/${suffix}`;
  return runPeer('mosquitto_pub', [...tlsArgs(gw), '-t', topic, '-m', JSON.stringify(message)]);
}

function relayed(seq: number, readings: unknown[], extra: Record<string, unknown> = {}) {
  const now = Date.now();
  return {
    v: 1,
    seq,
    ts: now,
    device: {
      systemId: SYSTEM_ID,
      manufacturer: 'Acme',
      model: 'Cuff 2',
      serial: 'CUFF-1',
      firmware: '1.0.3',
    },
    modality: 'sensed',
    receivedAt: now - 2_000,
    readings,
    ...extra,
  };
}

async function storedPoints(dev: string): Promise<(StoredPoint & { modality?: string })[]> {
  expect(await pipeline.writer.drained()).toBe(true);
  const series = await influx.client.query(`SELECT * FROM telemetry WHERE d = $d`, { d: dev });
  return (series[0]?.rows ?? []) as unknown as (StoredPoint & { modality?: string })[];
}

const aclRefusals = (gw: string) =>
  pki.store.audit
    .list({ action: 'broker.acl', target: `device:${gw}`, outcome: 'denied' })
    .map((e) => e.details);

/** Polls an asynchronous condition (a reading on its way from a long-lived publisher to InfluxDB). */
async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function metric(name: string, label: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('a bound device through its gateway', () => {
  it('is stored encrypted, with its modality, the device and gateway times, its clock corrected', async () => {
    // The cuff's clock is 7 minutes slow: the coincident time reference says so.
    const gatewayNow = Date.now();
    const deviceNow = gatewayNow - 7 * MINUTE;
    const measuredOnDevice = deviceNow - 30 * MINUTE;
    const message = relayed(
      1,
      [{ mdc: 150020, systolic: 131, diastolic: 84, unit: 'mm[Hg]', ts: measuredOnDevice }],
      { clock: { device: deviceNow, gateway: gatewayNow }, receivedAt: gatewayNow - 1_000 },
    );
    const result = await relay('gw-home', 'bp-1', message);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);

    const [point, ...more] = await storedPoints('bp-1');
    expect(more).toEqual([]);
    expect(point!.modality).toBe('sensed');
    // No stored field holds the value in the clear (it is only inside the sealed field).
    expect(Object.values(point!).filter((v) => v === 131 || v === '131')).toEqual([]);
    const opened = openReading(pki.keyring, patientId, point!);
    // Corrected to the gateway's clock: within the stated tolerance (1 s); here exact.
    expect(Math.abs(opened.ts - (measuredOnDevice + 7 * MINUTE))).toBeLessThanOrEqual(1_000);
    expect(opened.reading).toMatchObject({
      type: 'blood_pressure',
      systolic: 131,
      diastolic: 84,
      source: {
        gateway: 'gw-home',
        modality: 'sensed',
        receivedAt: gatewayNow - 1_000,
        deviceTime: measuredOnDevice,
      },
    });
    expect(pki.store.gatewayBindings.ofDevice('bp-1')?.clockDriftMs).toBe(-7 * MINUTE);
  });

  it('pins the identity its first reading names, and keeps manual entries apart', async () => {
    const entry = relayed(1, [{ type: 'body_weight', value: 81.4, unit: 'kg', ts: Date.now() - MINUTE }], {
      device: { address: 'a4:c1:38:00:11:22' },
      modality: 'manual',
    });
    expect((await relay('gw-home', 'scale-1', entry)).status).toBe(0);
    const [point] = await storedPoints('scale-1');
    expect(point!.modality).toBe('manual');
    expect(pki.store.gatewayBindings.ofDevice('scale-1')?.systemId).toBe('A4:C1:38:00:11:22');
    expect(pki.store.audit.list({ action: 'gateway.pin', target: 'device:scale-1' })).toHaveLength(1);
  });

  it('a resend of the same seq is a duplicate, never stored twice', async () => {
    const message = relayed(5, [{ type: 'blood_glucose', value: 104, unit: 'mg/dL' }], {
      device: { systemId: 'AABBCCDDEEFF0011' },
    });
    expect((await relay('gw-home', 'glu-1', message)).status).toBe(0);
    expect((await relay('gw-home', 'glu-1', message)).status).toBe(0);
    expect(await storedPoints('glu-1')).toHaveLength(1);
    expect(pki.store.deadLetters.list({ deviceId: 'glu-1' }).map((d) => d.reason)).toEqual(['DUPLICATE']);
  });
});

describe('refused, counted, audited and stored nowhere', () => {
  it('a device not bound to the gateway, or bound to another', async () => {
    const before = await countPoints(influx.client);
    const notBound = await metric('vitalgate_mqtt_authorization_failures_total', 'DEVICE_NOT_BOUND');
    const elsewhere = await metric('vitalgate_mqtt_authorization_failures_total', 'DEVICE_BOUND_ELSEWHERE');
    pki.store.devices.add({ id: 'ox-stray', kind: 'pulse_oximeter', patientId });
    const reading = [{ type: 'spo2', value: 96, unit: '%' }];
    // Unbound; then a replay through a second gateway of a message meant for a device of gw-home.
    await relay('gw-phone', 'ox-stray', relayed(1, reading));
    await relay(
      'gw-phone',
      'bp-1',
      relayed(9, [{ mdc: 150020, systolic: 120, diastolic: 80, unit: 'mm[Hg]' }]),
    );
    expect(aclRefusals('gw-phone')).toEqual([
      { code: 'DEVICE_BOUND_ELSEWHERE', relayedDevice: 'bp-1' },
      { code: 'DEVICE_NOT_BOUND', relayedDevice: 'ox-stray' },
    ]);
    expect(await metric('vitalgate_mqtt_authorization_failures_total', 'DEVICE_NOT_BOUND')).toBe(
      notBound + 1,
    );
    expect(await metric('vitalgate_mqtt_authorization_failures_total', 'DEVICE_BOUND_ELSEWHERE')).toBe(
      elsewhere + 1,
    );
    expect(
      pki.store.securityEvents
        .list({ kind: 'acl_violation', deviceId: 'gw-phone' })
        .map((e) => e.details?.code),
    ).toEqual(expect.arrayContaining(['DEVICE_NOT_BOUND', 'DEVICE_BOUND_ELSEWHERE']));
    expect(await countPoints(influx.client)).toBe(before);
    expect(pki.store.deadLetters.list({ deviceId: 'ox-stray' })).toEqual([]);
  });

  it('a spoofed device identity, and a code whose unit disagrees', async () => {
    const before = await countPoints(influx.client, "WHERE d = 'bp-1'");
    const spoofed = relayed(20, [{ mdc: 150020, systolic: 118, diastolic: 76, unit: 'mm[Hg]' }], {
      device: { systemId: 'FFEEDDCCBBAA9988', serial: 'CUFF-1' },
    });
    const mismatched = relayed(21, [{ mdc: 150020, systolic: 118, diastolic: 76, unit: '%' }]);
    expect((await relay('gw-home', 'bp-1', spoofed)).status).toBe(0);
    expect((await relay('gw-home', 'bp-1', mismatched)).status).toBe(0);
    expect(await countPoints(influx.client, "WHERE d = 'bp-1'")).toBe(before);
    const letters = pki.store.deadLetters.list({ deviceId: 'bp-1' }).map((d) => d.reason);
    expect(letters).toEqual(expect.arrayContaining(['DEVICE_IDENTITY_MISMATCH', 'UNIT_MISMATCH']));
    expect(
      pki.store.audit.list({ action: 'gateway.relay', target: 'device:bp-1', outcome: 'denied' }),
    ).toHaveLength(1);
    expect(
      pki.store.securityEvents.list({ kind: 'gateway_identity_mismatch', deviceId: 'gw-home' }),
    ).toHaveLength(1);
    // The identity the operator pinned was not replaced by the spoofed one.
    expect(pki.store.gatewayBindings.ofDevice('bp-1')?.systemId).toBe(SYSTEM_ID);
  });

  it('a gateway that keeps publishing for devices not bound to it is quarantined, like a device', async () => {
    for (let i = 0; i < 4; i++)
      await relay('gw-rogue', `ghost-${i}`, relayed(1, [{ type: 'spo2', value: 97, unit: '%' }]));
    expect(pki.store.devices.get('gw-rogue')?.status).toBe('quarantined');
    const refused = await relay('gw-rogue', 'ghost-9', relayed(1, [{ type: 'spo2', value: 97, unit: '%' }]));
    expect(refused.status).not.toBe(0);
  });

  it('its own telemetry topic: a gateway sends no readings of its own', async () => {
    const own = await runPeer('mosquitto_pub', [
      ...tlsArgs('gw-phone'),
      ...['-t', 'devices/gw-phone/telemetry', '-m', JSON.stringify(relayed(1, []))],
    ]);
    expect(own.status).toBe(0);
    expect(aclRefusals('gw-phone')[0]).toEqual({ code: 'TOPIC_NOT_ALLOWED' });
  });
});

describe('bindings and the gateway lifecycle reach the live session', () => {
  it('unbinding one device stops that device only', async () => {
    pki.store.devices.add({ id: 'therm-1', kind: 'thermometer', patientId });
    pki.store.devices.add({ id: 'ox-2', kind: 'pulse_oximeter', patientId });
    gateways.bind('gw-hub', 'therm-1', {}, 'test');
    gateways.bind('gw-hub', 'ox-2', {}, 'test');
    const temp = (seq: number) =>
      relayed(seq, [{ type: 'body_temperature', value: 37.1, unit: 'Cel' }], {
        device: { systemId: '1122334455667788' },
      });
    const ox = (seq: number) =>
      relayed(seq, [{ type: 'spo2', value: 95, unit: '%' }], {
        device: { systemId: '8877665544332211' },
      });
    await relay('gw-hub', 'therm-1', temp(1));
    await relay('gw-hub', 'ox-2', ox(1));
    gateways.unbind('gw-hub', 'therm-1', 'test');
    await relay('gw-hub', 'therm-1', temp(2));
    await relay('gw-hub', 'ox-2', ox(2));
    expect(await storedPoints('therm-1')).toHaveLength(1);
    expect(await storedPoints('ox-2')).toHaveLength(2);
    expect(aclRefusals('gw-hub')).toEqual([{ code: 'DEVICE_NOT_BOUND', relayedDevice: 'therm-1' }]);
    expect(pki.store.audit.list({ action: 'gateway.unbind', target: 'device:therm-1' })).toHaveLength(1);
  });

  it('revoking the gateway ends its live session within a second; its devices’ readings stop', async () => {
    const reading = (seq: number) =>
      relayed(seq, [{ type: 'blood_pressure', systolic: 125, diastolic: 81, unit: 'mm[Hg]' }], {
        device: { systemId: '0102030405060708' },
      });
    const connected = once(broker, 'connected');
    // A long-lived gateway: mosquitto_pub reads one message per line from stdin.
    const gateway = spawn(
      'mosquitto_pub',
      [...tlsArgs('gw-revoked'), '-t', 'gateways/gw-revoked/devices/bp-lone/telemetry', '-l'],
      {
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    const exited = once(gateway, 'close');
    try {
      expect(((await connected)[0] as LiveSessionInfo).deviceId).toBe('gw-revoked');
      gateway.stdin.write(`${JSON.stringify(reading(1))}\n`);
      await until(async () => (await storedPoints('bp-lone')).length === 1);
      const disconnected = once(broker, 'disconnected');
      const lifecycle = new DeviceLifecycle(pki.store, pki.authority, { kicker: broker });
      const t0 = performance.now();
      await lifecycle.apply('gw-revoked', 'revoke', 'phone reported stolen', 'test');
      const [info, cause] = (await disconnected) as [LiveSessionInfo, string];
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(info.deviceId).toBe('gw-revoked');
      expect(cause).toBe('kicked:revoke');
    } finally {
      gateway.kill();
      await exited;
    }
    const again = await relay('gw-revoked', 'bp-lone', reading(2));
    expect(again.status).not.toBe(0);
    expect(await storedPoints('bp-lone')).toHaveLength(1);
  });
});
