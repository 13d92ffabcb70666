// Day views and raw ranges from the one-minute rollups ingest writes, against a real InfluxDB:
// the same buckets and the same readings as from the decrypted points (across a restart of
// ingest and with late, store-and-forward readings), sealed in InfluxDB, bound to their slot,
// and unreadable once the patient is erased.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../../core/influx.js';
import { PatientRegistry } from '../../../core/patient-registry.js';
import type { TelemetryQuery, TelemetryReader } from '../../../dashboard-api/ports.js';
import { downsample } from '../../../dashboard-api/telemetry/downsample.js';
import { InfluxTelemetryReader } from '../../../dashboard-api/telemetry/influx-reader.js';
import { TelemetryService } from '../../../dashboard-api/telemetry/telemetry-service.js';
import { ROLLUP_MEASUREMENT, ROLLUPS_SINCE_KEY, rollupsSince } from '../../../ingest/rollup-sealing.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient, envelope, openPipeline } from '../../support/ingest.js';
import { testInflux, type TestInflux } from '../../support/influx.js';

const MIN = 60_000;
const NOW = Date.now();
const BASE = Math.floor(NOW / MIN) * MIN - 40 * MIN;

let pki: TestPki;
let influx: TestInflux;
let patientId: string;
let reader: InfluxTelemetryReader;
let readings = 0;

type Device = { deviceId: string; kind: 'wearable' | 'bp_monitor'; patientId: string };
const wear = (): Device => ({ deviceId: 'wear-r', kind: 'wearable', patientId });
const cuff = (): Device => ({ deviceId: 'bp-r', kind: 'bp_monitor', patientId });
const hr = (value: number, ts: number) => ({ type: 'heart_rate', value, unit: '/min', ts });

async function send(
  pipeline: ReturnType<typeof openPipeline>['pipeline'],
  device: Device,
  seq: number,
  list: Record<string, unknown>[],
) {
  const result = await pipeline.accept(device, envelope(seq, list, list[0]!.ts as number));
  expect(result).toEqual({ outcome: 'accepted' });
  readings += list.length;
}

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  patientId = addPatient(pki);
  pki.store.devices.add({ id: 'wear-r', kind: 'wearable', patientId });
  pki.store.devices.add({ id: 'bp-r', kind: 'bp_monitor', patientId });
  // This hub has written rollups for an hour already.
  pki.store.meta.set(ROLLUPS_SINCE_KEY, String(BASE - 60 * MIN));

  let { pipeline } = openPipeline(pki, influx);
  pipeline.start();
  // Slots of 10 ms and more: a minute's rollup point is well after its first reading.
  let seq = 10_000;
  // Minutes 0–19: two messages a minute of three heart rates each (half units sum exactly).
  for (let m = 0; m < 20; m++) {
    for (const half of [0, 30_000]) {
      const t = BASE + m * MIN + half;
      await send(
        pipeline,
        wear(),
        ++seq,
        [0, 1, 2].map((i) => hr(60 + ((m * 7 + i * 3 + half / 1000) % 40) + 0.5 * i, t + i * 10_000)),
      );
    }
  }
  await send(pipeline, cuff(), 1, [
    { type: 'blood_pressure', systolic: 130, diastolic: 85, unit: 'mm[Hg]', ts: BASE + 3 * MIN + 5 },
    { type: 'blood_pressure', systolic: 150, diastolic: 95, unit: 'mm[Hg]', ts: BASE + 3 * MIN + 50_000 },
  ]);
  expect(await pipeline.writer.drained()).toBe(true);
  await pipeline.stop();

  // Ingest restarts: minutes 15–25 get more readings (new accumulators, slots of their own),
  // then a store-and-forward batch arrives for minutes 2–4.
  ({ pipeline } = openPipeline(pki, influx));
  pipeline.start();
  for (let m = 15; m < 26; m++) await send(pipeline, wear(), ++seq, [hr(100 + m, BASE + m * MIN + 45_000)]);
  await send(
    pipeline,
    wear(),
    ++seq,
    [2, 3, 4].map((m) => hr(150 + m, BASE + m * MIN + 55_000)),
  );
  await send(pipeline, cuff(), 2, [
    { type: 'blood_pressure', systolic: 110, diastolic: 70, unit: 'mm[Hg]', ts: BASE + 3 * MIN + 59_000 },
  ]);
  expect(await pipeline.writer.drained()).toBe(true);
  await pipeline.stop();

  reader = new InfluxTelemetryReader(influx.client, pki.keyring, {
    rollupsSince: () => rollupsSince(pki.store.meta),
  });
});
afterAll(async () => {
  await influx.drop();
  pki.cleanup();
});

/** The reader, recording the raw ranges read. */
function recording(): { reader: TelemetryReader; raw: TelemetryQuery[] } {
  const raw: TelemetryQuery[] = [];
  return {
    raw,
    reader: {
      read: (q) => (raw.push(q), reader.read(q)),
      rollupsSince: () => reader.rollupsSince(),
      readMinuteStats: (q) => reader.readMinuteStats(q),
    },
  };
}

describe('day views from one-minute rollups', () => {
  it('equal the buckets of the decrypted points, across a restart and with late readings', async () => {
    const from = BASE + 1234;
    expect(await reader.read({ patientId, from: BASE, to: NOW })).toHaveLength(readings);
    const points = await reader.read({ patientId, from, to: NOW });
    for (const resolution of [MIN, 5 * MIN, 60 * MIN]) {
      const { reader: r, raw } = recording();
      const service = new TelemetryService(r, { subscribe: () => () => {} }, () => NOW);
      const view = await service.downsampled(patientId, from, NOW, undefined, resolution);
      expect(view).toEqual(downsample(points, resolution));
      // Through `read`, only the partial minutes at the edges (minutes not closed are read from
      // their points inside readMinuteStats).
      expect(raw.map((q) => [q.from - BASE, q.to - BASE])).toEqual([
        [1234, MIN - 1],
        [Math.floor(NOW / MIN) * MIN - BASE, NOW - BASE],
      ]);
    }
    const minutes = await new TelemetryService(reader, { subscribe: () => () => {} }, () => NOW).downsampled(
      patientId,
      BASE,
      NOW,
      ['heart_rate', 'blood_pressure'],
      MIN,
    );
    expect(minutes.get('blood_pressure')!.find((b) => b.start === BASE + 3 * MIN)).toEqual({
      start: BASE + 3 * MIN,
      count: 3,
      systolic: { min: 110, mean: 130, max: 150 },
      diastolic: { min: 70, mean: 83.333, max: 95 },
    });
    expect(minutes.get('heart_rate')!.find((b) => b.start === BASE + 3 * MIN)!.value!.max).toBe(153);
  });

  it('minutes before the rollups began are read from the points', async () => {
    const { reader: r, raw } = recording();
    const since = BASE + 10 * MIN;
    const service = new TelemetryService(
      { ...r, rollupsSince: () => since },
      { subscribe: () => () => {} },
      () => NOW,
    );
    const view = await service.downsampled(patientId, BASE, NOW, undefined, MIN);
    expect(view).toEqual(downsample(await reader.read({ patientId, from: BASE, to: NOW }), MIN));
    // Before the rollups, and the partial minute at the end.
    expect(raw.map((q) => [q.from, q.to])).toEqual([
      [BASE, since - 1],
      [Math.floor(NOW / MIN) * MIN, NOW],
    ]);
  });

  it('raw ranges read closed minutes from their blocks: the same readings as the points', async () => {
    /** Records the ranges read from the points themselves. */
    class RecordingInflux extends InfluxClient {
      readonly pointRanges: [number, number, string][] = [];
      override queryStream(...args: Parameters<InfluxClient['queryStream']>) {
        const m = /time >= (\d+)ms AND time < (\d+)ms/.exec(args[0])!;
        const types = Object.keys(args[1] ?? {}).filter((k) => k !== 's').length;
        this.pointRanges.push([Number(m[1]) - BASE, Number(m[2]) - BASE, types === 1 ? 'ecg' : 'others']);
        return super.queryStream(...args);
      }
    }
    const client = new RecordingInflux({ url: influx.url, database: influx.database, timeoutMs: 5_000 });
    const fromBlocks = new InfluxTelemetryReader(client, pki.keyring, {
      rollupsSince: () => rollupsSince(pki.store.meta),
    });
    const fromPoints = new InfluxTelemetryReader(influx.client, pki.keyring, { worker: false });
    const canonical = (points: readonly unknown[]) =>
      points.map((p) => JSON.stringify(p)).sort((a, b) => a.localeCompare(b));
    try {
      for (const [from, to, types] of [
        [BASE, NOW, undefined],
        [BASE + 1234, BASE + 21 * MIN + 17_000, undefined],
        [BASE + 3 * MIN, BASE + 3 * MIN + 59_999, ['blood_pressure'] as const],
        [BASE + 5 * MIN + 10_000, BASE + 5 * MIN + 40_000, ['heart_rate'] as const],
        [BASE + 5 * MIN + 10_000, BASE + 6 * MIN, ['heart_rate'] as const],
      ] as const) {
        const query = { patientId, from, to, types };
        const blocks = await fromBlocks.read(query);
        const points = await fromPoints.read(query);
        expect(points.length).toBeGreaterThan(0);
        expect(canonical(blocks)).toEqual(canonical(points));
        // Oldest first, and `limit` keeps the oldest.
        expect(blocks.map((p) => p.ts)).toEqual([...blocks.map((p) => p.ts)].sort((a, b) => a - b));
        for (const limit of [3, 50, 137]) {
          const first = await fromBlocks.read({ ...query, limit });
          expect(first).toEqual(blocks.slice(0, limit));
          expect(first).toEqual(await fromPoints.read({ ...query, limit }));
        }
      }
      client.pointRanges.length = 0;
      expect(await fromBlocks.read({ patientId, from: BASE, to: NOW })).toHaveLength(readings);
      // From the points: ECG over the range, and the minutes with a slot that was never closed:
      // 2–4 (the late readings, and the cuff's in 3), 19 (ingest stopped in it) and 25 (the
      // last one). 15–18 have a second slot after the restart, but both were closed.
      expect(client.pointRanges.sort((a, b) => a[0] - b[0] || a[2].localeCompare(b[2]))).toEqual([
        [0, NOW - BASE + 1, 'ecg'],
        [2 * MIN, 5 * MIN, 'others'],
        [19 * MIN, 20 * MIN, 'others'],
        [25 * MIN, 26 * MIN, 'others'],
      ]);
      // Minutes not closed scattered over the range (here: a second, open slot in every other
      // minute): one query per run, or, beyond `maxPointRuns`, one pass keeping only theirs.
      const pseudonym = (
        await influx.client.query(`SHOW TAG VALUES FROM ${ROLLUP_MEASUREMENT} WITH KEY = s`)
      )[0]!.rows[0]!.value as string;
      const scattered = Array.from({ length: 20 }, (_, i) => (BASE + 2 * i * MIN) * 1000 + 999_999);
      await influx.client.writeLines(
        scattered.map((us) => `${ROLLUP_MEASUREMENT},d=wear-r,s=${pseudonym} o=1i ${us}`),
        { precision: 'u' },
      );
      const all = { patientId, from: BASE, to: NOW };
      const expected = canonical(await fromPoints.read(all));
      client.pointRanges.length = 0;
      expect(canonical(await fromBlocks.read(all))).toEqual(expected);
      // 0, 2–4, 6, 8, …, 18–20, 22, 24–26, 28, …, 38
      expect(client.pointRanges.filter((r) => r[2] === 'others')).toHaveLength(17);
      const narrow = new InfluxTelemetryReader(client, pki.keyring, {
        rollupsSince: () => rollupsSince(pki.store.meta),
        maxPointRuns: 16,
        worker: false,
      });
      client.pointRanges.length = 0;
      expect(canonical(await narrow.read(all))).toEqual(expected);
      expect(client.pointRanges.sort((a, b) => a[0] - b[0] || a[2].localeCompare(b[2]))).toEqual([
        [0, NOW - BASE + 1, 'ecg'],
        [0, NOW - BASE + 1, 'others'],
      ]);
      for (const us of scattered)
        await influx.client.query(`DELETE FROM ${ROLLUP_MEASUREMENT} WHERE time = ${us}u`);
    } finally {
      await fromBlocks.close();
    }
  });

  it('a raw read with a limit keeps the oldest readings of every device, also within a minute', async () => {
    const other = addPatient(pki);
    const devices = ['wear-a', 'wear-b'].map((deviceId) => ({
      deviceId,
      kind: 'wearable' as const,
      patientId: other,
    }));
    for (const d of devices) pki.store.devices.add({ id: d.deviceId, kind: 'wearable', patientId: other });
    const { pipeline } = openPipeline(pki, influx);
    pipeline.start();
    const t0 = BASE + 30 * MIN;
    for (let m = 0; m < 4; m++)
      for (const [i, device] of devices.entries()) {
        // wear-b sends after wear-a, with readings from earlier in the minute.
        const ts = t0 + m * MIN + (i === 0 ? 30_000 : 0);
        const list = [0, 1, 2].map((k) => hr(70 + 10 * i + k, ts + k * 1000));
        expect(await pipeline.accept(device, envelope(m + 1, list, ts))).toEqual({ outcome: 'accepted' });
      }
    expect(await pipeline.writer.drained()).toBe(true);
    await pipeline.stop();
    const query = { patientId: other, from: t0, to: t0 + 4 * MIN - 1, types: ['heart_rate'] as const };
    const all = await reader.read(query);
    expect(all).toHaveLength(24);
    expect(all[0]).toMatchObject({ deviceId: 'wear-b', ts: t0 });
    for (const limit of [1, 4, 6, 9, 23])
      expect(await reader.read({ ...query, limit })).toEqual(all.slice(0, limit));
  });

  it('are sealed in InfluxDB: fields c, k, o and r, tags d and s, no patient id', async () => {
    const keys = await influx.client.query(`SHOW FIELD KEYS FROM ${ROLLUP_MEASUREMENT}`);
    expect(keys[0]!.rows).toEqual([
      { fieldKey: 'c', fieldType: 'string' },
      { fieldKey: 'k', fieldType: 'integer' },
      { fieldKey: 'o', fieldType: 'integer' },
      { fieldKey: 'r', fieldType: 'string' },
    ]);
    const tags = await influx.client.query(`SHOW TAG KEYS FROM ${ROLLUP_MEASUREMENT}`);
    expect(tags[0]!.rows.map((r) => r.tagKey)).toEqual(['d', 's']);
    const res = await fetch(
      `${influx.client.url}/query?${new URLSearchParams({ db: influx.database, q: `SELECT * FROM ${ROLLUP_MEASUREMENT}` })}`,
    );
    const body = await res.text();
    expect(body).not.toContain(patientId);
    expect(body).not.toMatch(/"(count|sum|min|max|value|systolic|heart_rate)"/);
    const rows = (await influx.client.query(`SELECT * FROM ${ROLLUP_MEASUREMENT}`))[0]!.rows;
    // Two devices' minutes, with a second slot for the minutes ingest saw again after its restart.
    expect(rows.length).toBeGreaterThan(26);
    // Closed minutes carry their statistics and block; open ones only `o`.
    const closed = rows.filter((row) => row.c !== null);
    expect(closed.length).toBeGreaterThan(20);
    for (const row of closed) {
      expect(row.c).toMatch(/^[A-Za-z0-9+/]{38,}={0,2}$/);
      expect(row.r).toMatch(/^[A-Za-z0-9+/]{38,}={0,2}$/);
    }
    for (const row of rows.filter((row) => row.c === null))
      expect([row.k, row.o, row.r]).toEqual([null, 1, null]);
  });

  it('a rollup copied to another slot does not open; erasure makes every rollup unreadable', async () => {
    const [series] = await influx.client.query(
      `SELECT c, k FROM ${ROLLUP_MEASUREMENT} WHERE d = 'wear-r' GROUP BY d, s LIMIT 1`,
      undefined,
      { epoch: 'u' },
    );
    const row = series!.rows[0]!;
    const copyUs = (row.time as number) + 1;
    await influx.client.writeLines(
      [
        `${ROLLUP_MEASUREMENT},d=wear-r,s=${series!.tags.s} c="${String(row.c)}",k=${String(row.k)}i ${copyUs}`,
      ],
      { precision: 'u' },
    );
    const minute = Math.floor(copyUs / 60_000_000) * MIN;
    await expect(
      reader.readMinuteStats({ patientId, from: minute, to: minute + MIN - 1, types: ['heart_rate'] }),
    ).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    await influx.client.query(`DELETE FROM ${ROLLUP_MEASUREMENT} WHERE time = ${copyUs}u`);
    await expect(
      reader.readMinuteStats({ patientId, from: minute, to: minute + MIN - 1, types: ['heart_rate'] }),
    ).resolves.toBeInstanceOf(Map);

    new PatientRegistry(pki.store.patients, pki.keyring, pki.store.audit).erase(
      patientId,
      'test',
      'erasure test',
    );
    await expect(reader.readMinuteStats({ patientId, from: BASE, to: NOW })).rejects.toMatchObject({
      code: 'KEY_DESTROYED',
    });
  });
});
