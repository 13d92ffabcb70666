// Nothing acknowledged is lost, and nothing is stored twice, against a real InfluxDB that is
// stopped and started (a private instance) and a real spool on disk: an outage, a crash (the
// pipeline abandoned without flushing or closing, then a new one opened on the same files; the
// kill -9 of the whole hub is test/e2e/crash.test.ts), a crash after InfluxDB's 204 but before
// the cursor moved, a torn tail, a full spool, and a record InfluxDB refuses for good.
import { appendFileSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSpooledMessage } from '../../../ingest/spooled-message.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { startPrivateInflux } from '../../support/influx.js';
import { countPoints, envelope, hr, openTestPipeline, ownDataDir, spo2 } from './fixture.js';

let pki: TestPki;
let patientId: string;
let server: Awaited<ReturnType<typeof startPrivateInflux>>;

beforeAll(async () => {
  pki = await createTestPki();
  patientId = addPatient(pki);
  server = await startPrivateInflux();
});
afterAll(async () => {
  await server.stop();
  pki.cleanup();
});

const bp = { type: 'blood_pressure', systolic: 120, diastolic: 80, unit: 'mm[Hg]' };

describe('InfluxDB outages', () => {
  it('1,000 readings accepted while InfluxDB is down all arrive exactly once after it comes back', async () => {
    const { pipeline, client, registry } = openTestPipeline(
      pki,
      { url: server.url, database: 'outage' },
      { dataDir: ownDataDir() },
    );
    pipeline.start();
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
    expect(pipeline.spool.depth).toBe(200);
    await new Promise((r) => setTimeout(r, 300)); // let the writer fail and back off
    await server.start();
    expect(await pipeline.writer.drained(30_000)).toBe(true);
    expect(await countPoints(client)).toBe(1000);
    expect(pipeline.spool.depth).toBe(0);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/vitalgate_influx_write_failures_total [1-9]/);
    expect(metrics).toContain('vitalgate_influx_points_written_total 1000');
    // The device's last minute is still open, with its readings held for its block.
    expect(metrics).toContain('vitalgate_rollup_minutes_open 1');
    expect(metrics).toMatch(/vitalgate_rollup_readings_held [1-9]\d*\n/);
    await pipeline.stop();
  });

  it('a pipeline stopped while InfluxDB is down hands its spool to the next one, which writes it', async () => {
    const dataDir = ownDataDir();
    const target = { url: server.url, database: 'handover' };
    const first = openTestPipeline(pki, target, { dataDir });
    first.pipeline.start();
    await server.stop();
    const device = { deviceId: 'ox-hand', kind: 'pulse_oximeter' as const, patientId };
    for (let seq = 1; seq <= 20; seq++)
      await first.pipeline.accept(device, envelope(seq, [spo2(97)], Date.now() - 60_000 + seq));
    await first.pipeline.stop();
    await server.start();
    const second = openTestPipeline(pki, target, { dataDir });
    expect(second.pipeline.spool.depth).toBe(20);
    second.pipeline.start();
    expect(await second.pipeline.writer.drained()).toBe(true);
    expect(await countPoints(second.client)).toBe(20);
    await second.pipeline.stop();
  });

  it('a graceful stop drains the spool into a reachable InfluxDB', async () => {
    const { pipeline, client } = openTestPipeline(
      pki,
      { url: server.url, database: 'drain' },
      { dataDir: ownDataDir() },
    );
    pipeline.start();
    const device = { deviceId: 'ox-drain', kind: 'pulse_oximeter' as const, patientId };
    for (let seq = 1; seq <= 50; seq++)
      await pipeline.accept(device, envelope(seq, [spo2(97)], Date.now() - 60_000 + seq));
    await pipeline.stop();
    expect(await countPoints(client)).toBe(50);
  });
});

describe('crashes', () => {
  it('abandoned without flushing: a new pipeline on the same files stores everything once and dedupes resends', async () => {
    const dataDir = ownDataDir();
    const target = { url: server.url, database: 'crash' };
    const device = { deviceId: 'bp-crash', kind: 'bp_monitor' as const, patientId };
    const t0 = Date.now() - 100_000;
    const message = (seq: number) => envelope(seq, [bp], t0 + seq * 1000);
    const first = openTestPipeline(pki, target, { dataDir });
    first.pipeline.start();
    for (let seq = 1; seq <= 30; seq++) await first.pipeline.accept(device, message(seq));
    expect(await first.pipeline.writer.drained()).toBe(true); // 1-30 confirmed: dedupe state in seq_windows
    await server.stop();
    for (let seq = 31; seq <= 60; seq++) await first.pipeline.accept(device, message(seq)); // only in the spool
    // The crash: no flush, no close, and an append cut mid-write that was never acknowledged.
    void first.pipeline.writer.stop();
    const spoolDir = join(dataDir, 'spool');
    const segment = readdirSync(spoolDir)
      .filter((f) => f.startsWith('segment-'))
      .sort()
      .pop()!;
    appendFileSync(join(spoolDir, segment), Buffer.from([0x40, 0, 0, 0, 1, 2, 3, 4, 0x7b, 0x22]));

    await server.start();
    const second = openTestPipeline(pki, target, { dataDir });
    expect(second.pipeline.spool.stats.repairedTails).toBe(1);
    second.pipeline.start();
    // Acked before the crash and only in the spool: a resend is recognised.
    expect(await second.pipeline.accept(device, message(60))).toEqual({
      outcome: 'duplicate',
      reason: 'DUPLICATE',
    });
    expect(await second.pipeline.accept(device, message(55))).toEqual({
      outcome: 'duplicate',
      reason: 'REPLAY',
    });
    expect(await second.pipeline.accept(device, message(20))).toEqual({
      outcome: 'duplicate',
      reason: 'REPLAY',
    });
    expect(await second.pipeline.accept(device, message(61))).toEqual({ outcome: 'accepted' });
    expect(await second.pipeline.writer.drained()).toBe(true);
    expect(await countPoints(second.client)).toBe(61);
    await second.pipeline.stop();
  });

  it('a crash after InfluxDB stored a batch but before the cursor moved rewrites it without duplicates', async () => {
    const dataDir = ownDataDir();
    const target = { url: server.url, database: 'replay' };
    const device = { deviceId: 'ox-replay', kind: 'pulse_oximeter' as const, patientId };
    const first = openTestPipeline(pki, target, { dataDir });
    const cursorFile = join(dataDir, 'spool', 'confirmed.json');
    first.pipeline.start();
    await first.pipeline.accept(device, envelope(1, [spo2(99)], Date.now() - 20_000));
    expect(await first.pipeline.writer.drained()).toBe(true);
    copyFileSync(cursorFile, `${cursorFile}.before`);
    for (let seq = 2; seq <= 40; seq++)
      await first.pipeline.accept(device, envelope(seq, [spo2(97), hr(70)], Date.now() - 20_000 + seq));
    expect(await first.pipeline.writer.drained()).toBe(true);
    await first.pipeline.stop();
    expect(await countPoints(first.client)).toBe(79);
    // As if the process died after the 204 but before the cursor's rename reached the disk.
    copyFileSync(`${cursorFile}.before`, cursorFile);
    const second = openTestPipeline(pki, target, { dataDir });
    expect(second.pipeline.spool.depth).toBe(39);
    second.pipeline.start();
    expect(await second.pipeline.writer.drained()).toBe(true);
    expect(second.pipeline.writer.written).toBe(78);
    expect(await countPoints(second.client)).toBe(79);
    await second.pipeline.stop();
  });
});

describe('limits and refusals', () => {
  it('a full spool refuses (no ack) and stores nothing; the same seq is taken once there is room', async () => {
    const target = { url: server.url, database: 'full' };
    await server.stop();
    const { pipeline, client } = openTestPipeline(pki, target, {
      dataDir: ownDataDir(),
      env: { VITALGATE_SPOOL_QUOTA_BYTES: '4096' },
    });
    pipeline.start();
    const device = { deviceId: 'sc-full', kind: 'weight_scale' as const, patientId };
    const weigh = (seq: number) =>
      envelope(seq, [{ type: 'body_weight', value: 70, unit: 'kg' }], Date.now() - 1000);
    let seq = 0;
    let refused: unknown;
    while (!refused && seq < 1000) {
      refused = await pipeline.accept(device, weigh(++seq)).then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(refused).toMatchObject({ code: 'SPOOL_FULL' });
    const depth = pipeline.spool.depth;
    expect(depth).toBe(seq - 1);
    await expect(pipeline.accept(device, weigh(seq))).rejects.toMatchObject({ code: 'SPOOL_FULL' });
    expect(pipeline.spool.depth).toBe(depth);
    expect(pki.store.securityEvents.list({ kind: 'spool_full' })).toHaveLength(1);
    await server.start();
    expect(await pipeline.writer.drained()).toBe(true);
    expect(await pipeline.accept(device, weigh(seq))).toEqual({ outcome: 'accepted' });
    expect(await pipeline.writer.drained()).toBe(true);
    expect(await countPoints(client)).toBe(seq);
    expect(pki.store.securityEvents.list({ kind: 'spool_recovered' })).toHaveLength(1);
    await pipeline.stop();
  });

  it('a record InfluxDB refuses for good is set aside in rejected.log; the records around it are stored', async () => {
    const dataDir = ownDataDir();
    const { pipeline, client, registry } = openTestPipeline(
      pki,
      { url: server.url, database: 'refused' },
      { dataDir },
    );
    const device = { deviceId: 'ox-poison', kind: 'pulse_oximeter' as const, patientId };
    for (let seq = 1; seq <= 5; seq++)
      await pipeline.accept(device, envelope(seq, [spo2(97)], Date.now() - 10_000 + seq));
    // A record whose line InfluxDB cannot parse, between good ones.
    await pipeline.spool.append(encodeSpooledMessage('ox-poison', 6, ['telemetry,d=ox-poison c= 1']));
    for (let seq = 7; seq <= 10; seq++)
      await pipeline.accept(device, envelope(seq, [spo2(97)], Date.now() - 10_000 + seq));
    pipeline.start();
    expect(await pipeline.writer.drained()).toBe(true);
    expect(await countPoints(client)).toBe(9);
    const rejected = readFileSync(join(dataDir, 'spool', 'rejected.log'), 'utf8')
      .trim()
      .split('\n');
    expect(rejected).toHaveLength(1);
    expect(JSON.parse(rejected[0]!)).toMatchObject({
      deviceId: 'ox-poison',
      seq: 6,
      why: 'InfluxDB answered HTTP 400',
    });
    expect(await registry.metrics()).toContain('vitalgate_influx_points_rejected_total 1');
    await pipeline.stop();
  });
});
