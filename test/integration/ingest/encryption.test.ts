// What lands in a real InfluxDB: every valid reading exactly once, sealed per patient, tagged
// with a pseudonym, readable only with the keyring and only in its own series and time.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceBroker } from '../../../broker/device-broker.js';
import { silentLogger } from '../../../core/logger.js';
import { RETENTION_POLICY } from '../../../ingest/writer.js';
import { openReading, pseudonymFor, QUARANTINE_SUBJECT, type StoredPoint } from '../../../ingest/sealing.js';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { testInflux, type TestInflux } from '../../support/influx.js';
import { runPeer } from '../../support/openssl.js';
import { countPoints, envelope, hr, openTestPipeline, ownDataDir, spo2 } from './fixture.js';

let pki: TestPki;
let influx: TestInflux;
let patientId: string;
let otherPatientId: string;

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  patientId = addPatient(pki);
  otherPatientId = addPatient(pki, 'Other Patient');
});
afterAll(async () => {
  await influx.drop();
  pki.cleanup();
});

async function points(where: string): Promise<StoredPoint[]> {
  const series = await influx.client.query(`SELECT * FROM telemetry WHERE ${where}`);
  return (series[0]?.rows ?? []) as unknown as StoredPoint[];
}

describe('through the broker, over mutual TLS', () => {
  it('stores every valid reading exactly once, encrypted; the influx CLI shows no plaintext', async () => {
    const { pipeline, client, config } = openTestPipeline(pki, influx, { dataDir: ownDataDir() });
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
      const message = envelope(seq, [spo2(97.3), hr(71.5)], t0 + seq * 1000).toString();
      await publishQos1(mqtt, 'devices/ox-enc/telemetry', message);
    }
    // A resend of an acked message (as after a lost PUBACK) is acked and not stored twice.
    await publishQos1(
      mqtt,
      'devices/ox-enc/telemetry',
      envelope(20, [spo2(97.3), hr(71.5)], t0 + 20_000).toString(),
    );
    await mqtt.endAsync();
    await broker.stop();
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
      'select * from telemetry',
    ]);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('ox-enc');
    expect(cli.stdout).toContain(pseudonymFor(pki.keyring, patientId));
    for (const plain of ['97.3', '71.5', patientId, 'spo2","value', '/min'])
      expect(cli.stdout).not.toContain(plain);

    const stored = await points("d = 'ox-enc'");
    expect(Object.keys(stored[0]!).sort()).toEqual(['c', 'd', 'k', 's', 't', 'time']);
    const opened = stored.map((p) => openReading(pki.keyring, patientId, p));
    expect(opened.filter((o) => o.reading.type === 'spo2').map((o) => o.reading)).toEqual(
      Array.from({ length: 20 }, (_, i) => ({
        type: 'spo2',
        value: 97.3,
        unit: '%',
        ts: t0 + (i + 1) * 1000,
      })),
    );
    expect(opened.filter((o) => o.reading.type === 'heart_rate')).toHaveLength(20);
    await pipeline.stop();
  });
});

describe('the sealed layout', () => {
  it('a ciphertext moved to another series, time or patient does not open', async () => {
    const { pipeline } = openTestPipeline(pki, influx, { dataDir: ownDataDir() });
    pipeline.start();
    const device = { deviceId: 'wear-aad', kind: 'wearable' as const, patientId };
    const ts = Date.now() - 10_000;
    expect(await pipeline.accept(device, envelope(1, [hr(66), spo2(95)], ts))).toEqual({
      outcome: 'accepted',
    });
    expect(await pipeline.writer.drained()).toBe(true);
    const [point] = await points("d = 'wear-aad' AND t = 'heart_rate'");
    expect(openReading(pki.keyring, patientId, point!).reading).toMatchObject({ value: 66 });
    const moves: Partial<StoredPoint>[] = [
      { t: 'spo2' },
      { d: 'wear-other' },
      { time: point!.time + 1 },
      { s: pseudonymFor(pki.keyring, otherPatientId) },
    ];
    for (const move of moves) {
      expect(() => openReading(pki.keyring, patientId, { ...point!, ...move })).toThrow(
        expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
      );
    }
    expect(() => openReading(pki.keyring, otherPatientId, point!)).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/DECRYPTION_FAILED|KEY_NOT_FOUND/) }),
    );
    await pipeline.stop();
  });

  it('readings sharing a series and millisecond, in one message or several, are all kept', async () => {
    const { pipeline, client } = openTestPipeline(pki, influx, { dataDir: ownDataDir() });
    pipeline.start();
    const device = { deviceId: 'wear-ecg', kind: 'wearable' as const, patientId };
    const ts = Date.now() - 5_000;
    const ecg = (first: number) => ({
      type: 'ecg',
      sampleRateHz: 250,
      samples: [first, first + 0.01],
      unit: 'mV',
    });
    expect((await pipeline.accept(device, envelope(1, [ecg(0.1), ecg(0.2), ecg(0.3)], ts))).outcome).toBe(
      'accepted',
    );
    expect((await pipeline.accept(device, envelope(2, [ecg(0.4), hr(70)], ts))).outcome).toBe('accepted');
    expect((await pipeline.accept(device, envelope(3, [hr(71)], ts))).outcome).toBe('accepted');
    expect(await pipeline.writer.drained()).toBe(true);
    expect(await countPoints(client, "WHERE d = 'wear-ecg'")).toBe(6);
    const firsts = (await points("d = 'wear-ecg' AND t = 'ecg'"))
      .map((p) => openReading(pki.keyring, patientId, p))
      .map((o) => ('samples' in o.reading ? o.reading.samples[0] : undefined));
    expect(firsts.sort()).toEqual([0.1, 0.2, 0.3, 0.4]);
    // Every point reads back at the reading's millisecond.
    const times = (await points("d = 'wear-ecg'")).map((p) => p.time);
    expect(new Set(times)).toEqual(new Set([ts]));
    await pipeline.stop();
  });

  it('readings of a device bound to no patient are sealed under the quarantine key and reported', async () => {
    const { pipeline } = openTestPipeline(pki, influx, { dataDir: ownDataDir() });
    pipeline.start();
    pki.store.devices.add({ id: 'th-loose', kind: 'thermometer' });
    const device = { deviceId: 'th-loose', kind: 'thermometer' as const, patientId: null };
    for (let seq = 1; seq <= 3; seq++) {
      const result = await pipeline.accept(
        device,
        envelope(seq, [{ type: 'body_temperature', value: 37.2, unit: 'Cel' }]),
      );
      expect(result).toEqual({ outcome: 'accepted' });
    }
    expect(await pipeline.writer.drained()).toBe(true);
    const stored = await points("d = 'th-loose'");
    expect(stored).toHaveLength(3);
    expect(new Set(stored.map((p) => p.s))).toEqual(new Set([pki.keyring.pseudonym(QUARANTINE_SUBJECT)]));
    expect(openReading(pki.keyring, null, stored[0]!).reading).toMatchObject({ value: 37.2 });
    expect(pki.store.securityEvents.list({ kind: 'telemetry_unbound', deviceId: 'th-loose' })).toHaveLength(
      1,
    );
    await pipeline.stop();
  });

  it('the writer creates the database with a default retention policy of retentionDays', async () => {
    const { pipeline, client } = openTestPipeline(
      pki,
      { url: influx.url, database: `rp_${Date.now()}` },
      { dataDir: ownDataDir(), env: { VITALGATE_RETENTION_DAYS: '30' } },
    );
    pipeline.start();
    await pipeline.accept(
      { deviceId: 'ox-rp', kind: 'pulse_oximeter', patientId },
      envelope(1, [spo2(98)], Date.now() - 1_000),
    );
    expect(await pipeline.writer.drained()).toBe(true);
    const [policies] = await client.query(`SHOW RETENTION POLICIES ON "${client.database}"`);
    expect(policies!.rows).toContainEqual(
      expect.objectContaining({ name: RETENTION_POLICY, duration: '720h0m0s', default: true }),
    );
    await pipeline.stop();
    await client.query(`DROP DATABASE "${client.database}"`);
  });
});
