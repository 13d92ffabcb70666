// Day views from the one-minute rollups ingest writes, against a real InfluxDB: the same buckets
// as from the decrypted points (across a restart of ingest and with late, store-and-forward
// readings), sealed in InfluxDB, bound to their slot, and unreadable once the patient is erased.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  let seq = 0;
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
      // Only the partial minutes at the edges were read point by point.
      expect(raw.reduce((n, q) => n + q.to - q.from + 1, 0)).toBeLessThanOrEqual(2 * MIN);
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

  it('are sealed in InfluxDB: fields c and k, tags d, s, t, no patient id', async () => {
    const keys = await influx.client.query(`SHOW FIELD KEYS FROM ${ROLLUP_MEASUREMENT}`);
    expect(keys[0]!.rows).toEqual([
      { fieldKey: 'c', fieldType: 'string' },
      { fieldKey: 'k', fieldType: 'integer' },
    ]);
    const tags = await influx.client.query(`SHOW TAG KEYS FROM ${ROLLUP_MEASUREMENT}`);
    expect(tags[0]!.rows.map((r) => r.tagKey)).toEqual(['d', 's', 't']);
    const res = await fetch(
      `${influx.client.url}/query?${new URLSearchParams({ db: influx.database, q: `SELECT * FROM ${ROLLUP_MEASUREMENT}` })}`,
    );
    const body = await res.text();
    expect(body).not.toContain(patientId);
    expect(body).not.toMatch(/"(count|sum|min|max|value|systolic)"/);
    const rows = (await influx.client.query(`SELECT * FROM ${ROLLUP_MEASUREMENT}`))[0]!.rows;
    // Two devices' minutes, with a second slot for the minutes ingest saw again after its restart.
    expect(rows.length).toBeGreaterThan(26);
    for (const row of rows) expect(row.c).toMatch(/^[A-Za-z0-9+/]{38,}={0,2}$/);
  });

  it('a rollup copied to another slot does not open; erasure makes every rollup unreadable', async () => {
    const [series] = await influx.client.query(
      `SELECT c, k FROM ${ROLLUP_MEASUREMENT} WHERE d = 'wear-r' GROUP BY d, s, t LIMIT 1`,
      undefined,
      { epoch: 'u' },
    );
    const row = series!.rows[0]!;
    const copyUs = (row.time as number) + 1;
    await influx.client.writeLines(
      [
        `${ROLLUP_MEASUREMENT},d=wear-r,s=${series!.tags.s},t=heart_rate c="${String(row.c)}",k=${String(row.k)}i ${copyUs}`,
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
