// The durable ingest path against a real InfluxDB: encryption, exactly-once storage, dead
// letters, InfluxDB outages, crashes and torn spool tails.
import { appendFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReading, type StoredPoint } from '../../../ingest/sealing.js';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient, countPoints, envelope, openPipeline } from '../../support/ingest.js';
import { startPrivateInflux, testInflux, type TestInflux } from '../../support/influx.js';
import { runPeer } from '../../support/openssl.js';
import { DeviceBroker } from '../../../broker/device-broker.js';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../core/logger.js';

let pki: TestPki;
let influx: TestInflux;
let patientId: string;

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  patientId = addPatient(pki);
});
afterAll(async () => {
  await influx.drop();
  pki.cleanup();
});

/** Each scenario gets its own spool, so what one leaves unwritten cannot leak into another. */
const ownSpool = () => ({ VITALGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'vg-spool-')) });

const spo2 = (value: number) => ({ type: 'spo2', value, unit: '%' });
const hr = (value: number) => ({ type: 'heart_rate', value, unit: '/min' });

describe('through the broker, over mutual TLS', () => {
  it('stores every valid reading exactly once, encrypted; the influx CLI shows no plaintext', async () => {
    const { pipeline, client, config } = openPipeline(pki, influx);
    pipeline.start();
    const broker = new DeviceBroker({
      store: pki.store,
      limits: config,
      tls: {
        ...pki.authority.serverTls(),
        ca: pki.authority.caBundlePem(),
        crl: pki.authority.tlsRevocationPem(),
      },
      registry: new Registry(),
      logger: silentLogger(),
      intake: pipeline,
    });
    const port = await broker.start({ host: '127.0.0.1', port: 0 });
    const dev = await pki.issueDevice('ox-enc', 'pulse_oximeter', { patientId });
    const mqtt = await connectDevice(port, dev, 'ox-enc');
    const t0 = Date.now() - 60_000;
    for (let seq = 1; seq <= 20; seq++) {
      await publishQos1(
        mqtt,
        'devices/ox-enc/telemetry',
        envelope(seq, [spo2(97.3), hr(71.5)], t0 + seq * 1000).toString(),
      );
    }
    // A resend of an acked message (as after a lost PUBACK) is not stored twice.
    await publishQos1(
      mqtt,
      'devices/ox-enc/telemetry',
      envelope(20, [spo2(97.3), hr(71.5)], t0 + 20_000).toString(),
    );
    await mqtt.endAsync();
    expect(await pipeline.writer.drained()).toBe(true);
    expect(await countPoints(client, "WHERE d = 'ox-enc'")).toBe(40);

    const cli = await runPeer('influx', [
      '-host',
      '127.0.0.1',
      '-port',
      new URL(influx.url).port,
      '-database',
      influx.database,
      '-execute',
      "SELECT * FROM telemetry WHERE d = 'ox-enc'",
    ]);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('ox-enc');
    expect(cli.stdout).not.toContain('97.3');
    expect(cli.stdout).not.toContain('71.5');
    expect(cli.stdout).not.toContain(patientId);

    const [series] = await client.query("SELECT * FROM telemetry WHERE d = 'ox-enc'");
    const points = series!.rows as unknown as StoredPoint[];
    expect(Object.keys(points[0]!).sort()).toEqual(['c', 'd', 'k', 's', 't', 'time']);
    const values = points.map((p) => openReading(pki.keyring, patientId, p).reading);
    expect(values.filter((r) => r.type === 'spo2').every((r) => 'value' in r && r.value === 97.3)).toBe(true);
    expect(values.filter((r) => r.type === 'heart_rate')).toHaveLength(20);
    // A ciphertext moved to another series does not open.
    expect(() =>
      openReading(pki.keyring, patientId, {
        ...points[0]!,
        t: points[0]!.t === 'spo2' ? 'heart_rate' : 'spo2',
      }),
    ).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED' }));
    await broker.stop();
    await pipeline.stop();
  });
});

describe('invalid payloads', () => {
  it('each becomes a counted dead letter with its reason, and none reaches InfluxDB', async () => {
    const { pipeline, client } = openPipeline(pki, influx);
    pipeline.start();
    const device = { deviceId: 'ox-bad', kind: 'pulse_oximeter' as const, patientId };
    pki.store.devices.add({ id: 'ox-bad', kind: 'pulse_oximeter', patientId });
    const now = Date.now();
    const cases: [Buffer, string][] = [
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), 'MALFORMED_JSON'],
      [Buffer.from('{"v":1,"seq":"one","ts":1,"readings":[]}'), 'SCHEMA_INVALID'],
      [
        Buffer.from(`{"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":1e999,"unit":"%"}]}`),
        'SCHEMA_INVALID',
      ],
      [envelope(2, [{ type: 'mood', value: 3, unit: '1' }], now), 'UNKNOWN_READING_TYPE'],
      [envelope(3, [{ type: 'blood_glucose', value: 90, unit: 'mg/dL' }], now), 'TYPE_NOT_ALLOWED_FOR_KIND'],
      [envelope(4, [spo2(140)], now), 'VALUE_OUT_OF_RANGE'],
      [envelope(5, [spo2(97)], now + 3_600_000), 'CLOCK_SKEW'],
      [
        Buffer.from(JSON.stringify({ v: 1, seq: 6, ts: now, readings: [spo2(97)], pad: 'x'.repeat(70_000) })),
        'PAYLOAD_TOO_LARGE',
      ],
    ];
    for (const [payload, reason] of cases) {
      expect(await pipeline.accept(device, payload), reason).toEqual({ outcome: 'dead_letter', reason });
    }
    expect(await pipeline.accept(device, envelope(10, [spo2(96)], now))).toEqual({ outcome: 'accepted' });
    expect(await pipeline.accept(device, envelope(9, [spo2(96)], now))).toEqual({
      outcome: 'duplicate',
      reason: 'REPLAY',
    });
    expect(await pipeline.writer.drained()).toBe(true);
    expect(await countPoints(client, "WHERE d = 'ox-bad'")).toBe(1);
    const letters = pki.store.deadLetters.list({ deviceId: 'ox-bad' });
    expect(letters.map((l) => l.reason).sort()).toEqual(cases.map(([, r]) => r).sort());
    // The payload is kept sealed under the patient's key, the detail names no value.
    expect(letters.every((l) => l.keySubject === `patient:${patientId}`)).toBe(true);
    expect(letters.find((l) => l.reason === 'VALUE_OUT_OF_RANGE')!.detail).not.toContain('140');
    expect(
      letters.find((l) => l.reason === 'VALUE_OUT_OF_RANGE')!.sealedPayload.includes(Buffer.from('spo2')),
    ).toBe(false);
    await pipeline.stop();
  });
});

describe('nothing is lost', () => {
  it('an InfluxDB outage during 1,000 readings: all arrive exactly once after it comes back', async () => {
    const server = await startPrivateInflux();
    const target = { url: server.url, database: 'outage' };
    const { pipeline, client } = openPipeline(pki, target, ownSpool());
    pipeline.start();
    pki.store.devices.add({ id: 'wear-out', kind: 'wearable', patientId });
    const device = { deviceId: 'wear-out', kind: 'wearable' as const, patientId };
    await server.stop();
    const t0 = Date.now() - 300_000;
    for (let seq = 1; seq <= 200; seq++) {
      const readings = [
        hr(60 + (seq % 30)),
        spo2(95 + (seq % 4)),
        hr(61),
        spo2(96),
        { type: 'steps', value: seq, unit: '{steps}' },
      ];
      expect((await pipeline.accept(device, envelope(seq, readings, t0 + seq * 1000))).outcome).toBe(
        'accepted',
      );
    }
    expect(pipeline.writer.written).toBe(0);
    await server.start();
    expect(await pipeline.writer.drained(30_000)).toBe(true);
    expect(await countPoints(client)).toBe(1000);
    await pipeline.stop();
    await server.stop();
  });

  it('a crash after acking: a new pipeline on the same spool stores everything once, and dedupes resends', async () => {
    const server = await startPrivateInflux();
    const target = { url: server.url, database: 'crash' };
    const spool = ownSpool();
    const first = openPipeline(pki, target, spool);
    pki.store.devices.add({ id: 'bp-crash', kind: 'bp_monitor', patientId });
    const device = { deviceId: 'bp-crash', kind: 'bp_monitor' as const, patientId };
    await server.stop(); // nothing gets written before the "crash"
    first.pipeline.start();
    const t0 = Date.now() - 100_000;
    for (let seq = 1; seq <= 50; seq++) {
      await first.pipeline.accept(
        device,
        envelope(
          seq,
          [{ type: 'blood_pressure', systolic: 120, diastolic: 80, unit: 'mm[Hg]' }],
          t0 + seq * 1000,
        ),
      );
    }
    void first.pipeline.writer.stop(); // abandoned as by kill -9: no flush, no close
    await server.start();
    const second = openPipeline(pki, target, spool);
    second.pipeline.start();
    for (let seq = 45; seq <= 50; seq++) {
      const resend = await second.pipeline.accept(
        device,
        envelope(
          seq,
          [{ type: 'blood_pressure', systolic: 120, diastolic: 80, unit: 'mm[Hg]' }],
          t0 + seq * 1000,
        ),
      );
      expect(resend.outcome).toBe('duplicate');
    }
    expect(await second.pipeline.writer.drained()).toBe(true);
    expect(await countPoints(second.client)).toBe(50);
    await second.pipeline.stop();
    await server.stop();
  });

  it('a torn final spool record is detected and cut on open; earlier records survive', async () => {
    const server = await startPrivateInflux();
    const target = { url: server.url, database: 'torn' };
    await server.stop();
    const spool = ownSpool();
    const first = openPipeline(pki, target, spool);
    pki.store.devices.add({ id: 'th-torn', kind: 'thermometer', patientId });
    const device = { deviceId: 'th-torn', kind: 'thermometer' as const, patientId };
    for (let seq = 1; seq <= 10; seq++) {
      await first.pipeline.accept(
        device,
        envelope(seq, [{ type: 'body_temperature', value: 36.6, unit: 'Cel' }], Date.now() - 50_000 + seq),
      );
    }
    const spoolDir = join(spool.VITALGATE_DATA_DIR, 'spool');
    const segment = readdirSync(spoolDir)
      .filter((f) => f.startsWith('segment-'))
      .sort()
      .pop()!;
    appendFileSync(join(spoolDir, segment), Buffer.from([0x40, 0, 0, 0, 1, 2, 3, 4, 0x7b, 0x22])); // a header and 2 of 64 bytes
    await server.start();
    const second = openPipeline(pki, target, spool);
    expect(second.pipeline.spool.stats.repairedTails).toBe(1);
    second.pipeline.start();
    expect(await second.pipeline.writer.drained()).toBe(true);
    expect(await countPoints(second.client)).toBe(10);
    await second.pipeline.stop();
    await server.stop();
  });

  it('a full spool stops acking (rejects) and stores nothing more', async () => {
    const { pipeline } = openPipeline(
      pki,
      { url: 'http://127.0.0.1:9', database: 'none' },
      { ...ownSpool(), VITALGATE_SPOOL_QUOTA_BYTES: '4096' },
    );
    pki.store.devices.add({ id: 'sc-full', kind: 'weight_scale', patientId });
    const device = { deviceId: 'sc-full', kind: 'weight_scale' as const, patientId };
    let seq = 0;
    let refused: unknown;
    while (!refused && seq < 1000) {
      refused = await pipeline
        .accept(device, envelope(++seq, [{ type: 'body_weight', value: 70, unit: 'kg' }]))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
    }
    expect(refused).toMatchObject({ code: 'SPOOL_FULL' });
    // The refused message was not taken: once there is room, the same seq is accepted.
    expect(pki.store.securityEvents.list({ kind: 'spool_full' })).not.toHaveLength(0);
    await pipeline.stop();
  });
});
