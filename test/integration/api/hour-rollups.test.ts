// Hourly statistics from the hourly rollups, against a real InfluxDB: the same buckets as from the
// decrypted points; hourly points written only for ended hours whose minutes are all closed,
// sealed (nothing in clear), bound to their series and hour; an hour whose minute count changed
// (a late, store-and-forward reading) read from its minutes again and rewritten; the compaction
// writing them ahead of any reader; and VG-DATA-001 accepting them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadingType } from '../../../core/domain.js';
import { downsample, toBucket, type StatsByType } from '../../../dashboard-api/telemetry/downsample.js';
import { HourlyCompaction } from '../../../dashboard-api/telemetry/hourly-compaction.js';
import { InfluxTelemetryReader } from '../../../dashboard-api/telemetry/influx-reader.js';
import { TelemetryService } from '../../../dashboard-api/telemetry/telemetry-service.js';
import * as data from '../../../hub/checks/data.js';
import {
  HOUR_ROLLUP_MEASUREMENT,
  openHourMinuteSums,
  openHourRollup,
  sealHourRollup,
} from '../../../ingest/hour-rollup-sealing.js';
import { MinuteRollups } from '../../../ingest/minute-rollups.js';
import { ROLLUPS_SINCE_KEY, rollupsSince, sealRollup } from '../../../ingest/rollup-sealing.js';
import type { TelemetryEnvelope } from '../../../ingest/schemas.js';
import { pseudonymFor, sealEnvelope } from '../../../ingest/sealing.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { testInflux, type TestInflux } from '../../support/influx.js';
import { addPatient } from '../../support/ingest.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.now();
/** Three ended hours, then the current one. */
const H0 = Math.floor(NOW / HOUR) * HOUR - 3 * HOUR;
const END = H0 + 3 * HOUR - 1;

let pki: TestPki;
let influx: TestInflux;
let patientId: string;
let reader: InfluxTelemetryReader;
let seq = 0;

/** Seals readings and their minute rollups as ingest writes them. */
async function publish(
  rollups: MinuteRollups,
  deviceId: string,
  pid: string,
  ts: number,
  readings: TelemetryEnvelope['readings'],
) {
  const target = { deviceId, patientId: pid };
  const envelope: TelemetryEnvelope = { v: 1, seq: ++seq, ts, readings };
  const rollup = rollups.prepare(target, envelope);
  await influx.client.writeLines([...sealEnvelope(pki.keyring, target, envelope), ...rollup.lines], {
    precision: 'n',
  });
  rollup.commit();
}

const hr = (value: number) => ({ type: 'heart_rate' as const, value, unit: '/min' });
const bp = (systolic: number) => ({
  type: 'blood_pressure' as const,
  systolic,
  diastolic: systolic - 40,
  unit: 'mm[Hg]' as const,
});

async function seedPatient(pid: string) {
  const rollups = new MinuteRollups(pki.keyring);
  for (let t = H0; t < H0 + 3 * HOUR; t += 5 * MIN)
    await publish(rollups, `wear-${pid}`, pid, t, [
      hr(60 + ((t / MIN) % 37)),
      { type: 'spo2', value: 95 + ((t / MIN) % 4), unit: '%' },
    ]);
  // The cuff's last minute stays open (no later message closes it): its hour has no hourly point.
  for (const [t, s] of [
    [H0 + 5 * MIN, 130],
    [H0 + HOUR + 10 * MIN, 141],
    [H0 + HOUR + 20 * MIN, 150],
  ] as const)
    await publish(rollups, `bp-${pid}`, pid, t, [bp(s)]);
  // The wearable's first message of the current hour closes its last minute of the hour before.
  await publish(rollups, `wear-${pid}`, pid, H0 + 3 * HOUR, [hr(70)]);
}

function buckets(stats: StatsByType) {
  return new Map(
    [...stats].map(([type, byHour]) => [
      type,
      [...byHour].sort((a, b) => a[0] - b[0]).map(([s, st]) => toBucket(s, st)),
    ]),
  );
}

async function expected(pid: string, types?: ReadingType[]) {
  const points = await reader.read({ patientId: pid, from: H0, to: END, types });
  return downsample(points, HOUR);
}

async function hourPoints(pid: string): Promise<(Record<string, unknown> & { d: string })[]> {
  const series = await influx.client.query(
    `SELECT * FROM ${HOUR_ROLLUP_MEASUREMENT} WHERE s = $s GROUP BY d`,
    { s: pseudonymFor(pki.keyring, pid) },
  );
  return series.flatMap((s) => s.rows.map((row) => ({ d: s.tags.d!, ...row })));
}

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  pki.store.meta.set(ROLLUPS_SINCE_KEY, String(H0 - HOUR));
  patientId = addPatient(pki);
  await seedPatient(patientId);
  reader = new InfluxTelemetryReader(influx.client, pki.keyring, {
    rollupsSince: () => rollupsSince(pki.store.meta),
    now: () => NOW,
  });
});
afterAll(async () => {
  await reader.close();
  await influx.drop();
  pki.cleanup();
});

describe('hourly rollups', () => {
  it('give the buckets of the decrypted points and are written sealed for ended, closed hours only', async () => {
    expect(await hourPoints(patientId)).toEqual([]);
    const first = await reader.readHourStats({ patientId, from: H0, to: END });
    expect(buckets(first)).toEqual(await expected(patientId));
    const stored = await hourPoints(patientId);
    // The wearable's three hours; the cuff's first hour, not its second (a minute still open).
    expect(stored.map((p) => `${p.d}@${(p.time as number) - H0}`).sort()).toEqual(
      [
        `bp-${patientId}@0`,
        `wear-${patientId}@0`,
        `wear-${patientId}@${HOUR}`,
        `wear-${patientId}@${2 * HOUR}`,
      ].sort(),
    );
    for (const p of stored) {
      expect(Object.keys(p).sort()).toEqual(['c', 'd', 'k', 'm', 's', 'time']); // s: the pseudonym tag
      expect(p.c).toMatch(/^[A-Za-z0-9+/]{38,}={0,2}$/);
      expect(Buffer.from(p.c as string, 'base64').toString('latin1')).not.toMatch(/heart_rate|count|sum/);
    }
    // Read again: the same, now from the hourly points.
    expect(
      buckets(await reader.readHourStats({ patientId, from: H0, to: END, types: ['heart_rate'] })),
    ).toEqual(await expected(patientId, ['heart_rate']));
  });

  it('are what is read while they stand, and are read from the minutes once a late reading came', async () => {
    const wear = `wear-${patientId}`;
    const s = pseudonymFor(pki.keyring, patientId);
    const [point] = (await hourPoints(patientId)).filter((p) => p.d === wear && p.time === H0);
    const real = openHourRollup(pki.keyring, patientId, {
      time: H0,
      d: wear,
      s,
      sealed: point!.c as string,
      k: point!.k as number,
    });
    // A different hourly point with the same count of minutes is taken as it is.
    const forged = {
      ...real,
      stats: { heart_rate: { count: 999, value: { min: 1, max: 1, sum: 999, n: 999 } } },
    };
    await influx.client.writeLines([sealHourRollup(pki.keyring, { deviceId: wear, patientId }, H0, forged)], {
      precision: 'n',
    });
    const read = await reader.readHourStats({
      patientId,
      from: H0,
      to: H0 + HOUR - 1,
      types: ['heart_rate'],
    });
    expect(read.get('heart_rate')?.get(H0)?.count).toBe(999);
    // A store-and-forward reading for that hour (a minute point of its own): the minutes again.
    const late = new MinuteRollups(pki.keyring);
    await publish(late, wear, patientId, H0 + 7 * MIN, [hr(199)]);
    await publish(late, wear, patientId, H0 + 3 * HOUR + MIN, [hr(71)]); // closes the late minute
    const again = await reader.readHourStats({ patientId, from: H0, to: END, types: ['heart_rate'] });
    expect(buckets(again)).toEqual(await expected(patientId, ['heart_rate']));
    expect(again.get('heart_rate')?.get(H0)?.value?.max).toBe(199);
    const [rewritten] = (await hourPoints(patientId)).filter((p) => p.d === wear && p.time === H0);
    const opened = openHourRollup(pki.keyring, patientId, {
      time: H0,
      d: wear,
      s,
      sealed: rewritten!.c as string,
      k: rewritten!.k as number,
    });
    expect(opened.minutePoints).toBe(real.minutePoints + 1);
    // Moved to another device or hour, an hourly point does not open.
    const moved = { s, sealed: rewritten!.c as string, k: rewritten!.k as number };
    expect(() => openHourRollup(pki.keyring, patientId, { ...moved, time: H0 + HOUR, d: wear })).toThrow(
      /failed authentication/,
    );
    expect(() =>
      openHourRollup(pki.keyring, patientId, { ...moved, time: H0, d: `bp-${patientId}` }),
    ).toThrow(/failed authentication/);
  });

  it('make the 30-day view of the telemetry service equal to the one from the points', async () => {
    const service = new TelemetryService(reader, { subscribe: () => () => {} }, () => NOW);
    const view = await service.downsampled(
      patientId,
      H0 - 30 * MIN,
      END + 30 * MIN,
      ['heart_rate', 'blood_pressure'],
      4 * HOUR,
    );
    const points = await reader.read({
      patientId,
      from: H0 - 30 * MIN,
      to: END + 30 * MIN,
      types: ['heart_rate', 'blood_pressure'],
    });
    expect(view).toEqual(downsample(points, 4 * HOUR));
  });

  it('are written by the compaction before anyone reads, and VG-DATA-001 accepts them', async () => {
    const other = addPatient(pki, 'Other Patient');
    await seedPatient(other);
    expect(await hourPoints(other)).toEqual([]);
    await new HourlyCompaction({ reader, patients: () => [other], now: () => NOW }).pass(24 * HOUR);
    expect((await hourPoints(other)).length).toBe(4);
    // A pass in which patients fail says how many, naming none.
    const told: number[] = [];
    const failing = new HourlyCompaction({
      reader: { rollupsSince: () => H0, readHourStats: () => Promise.reject(new Error('InfluxDB away')) },
      patients: () => [patientId, other],
      now: () => NOW,
      onFailures: (n) => told.push(n),
    });
    await failing.pass(24 * HOUR);
    expect([told, failing.failures]).toEqual([[2], 2]);
    expect(await data.telemetryEncrypted.run(checkContext(pki, { influx: influx.client }))).toMatchObject({
      status: 'pass',
    });
  });

  it('give a long range minute by minute: the minute sums of hourly points equal the minutes', async () => {
    const pid = addPatient(pki, 'Report Patient');
    await seedPatient(pid);
    const wear = `wear-${pid}`;
    const s = pseudonymFor(pki.keyring, pid);
    // Not whole hours (a site's day may start on the half hour), up to the current minute.
    const range = { patientId: pid, from: H0 + 30 * MIN, to: Math.floor(NOW / MIN) * MIN + MIN - 1 };
    const fromMinutes = sumsOf(await reader.readMinuteStats(range));
    expect(fromMinutes.get('heart_rate')?.size).toBeGreaterThan(20);
    // First read: no hourly points yet; read from the minutes and written with their sums.
    expect(await reader.readMinuteSums(range)).toEqual(fromMinutes);
    const written = (await hourPoints(pid)).filter((p) => p.d === wear && p.time === H0);
    expect(typeof written[0]?.m).toBe('string');
    expect(await reader.readMinuteSums(range)).toEqual(fromMinutes);
    const at = { time: H0, d: wear, s, k: written[0]!.k as number };
    const real = openHourRollup(pki.keyring, pid, { ...at, sealed: written[0]!.c as string });
    // While an hourly point stands, its minute sums are what is read (a forged one shows).
    await influx.client.writeLines(
      [
        sealHourRollup(pki.keyring, { deviceId: wear, patientId: pid }, H0, {
          ...real,
          minuteSums: { heart_rate: { value: [[45, 999, 1]] } },
        }),
      ],
      { precision: 'n' },
    );
    const forged = await reader.readMinuteSums({ ...range, types: ['heart_rate'] });
    expect(forged.get('heart_rate')?.get(H0 + 45 * MIN)).toEqual({ value: { sum: 999, n: 1 } });
    expect(forged.get('heart_rate')?.has(H0 + 35 * MIN)).toBe(false);
    // An hourly point written before minute sums existed: read from its minutes, written again.
    await influx.client.query(`DELETE FROM ${HOUR_ROLLUP_MEASUREMENT} WHERE s = $s`, { s });
    await influx.client.writeLines(
      [
        sealHourRollup(pki.keyring, { deviceId: wear, patientId: pid }, H0, {
          ...real,
          minuteSums: undefined,
        }),
      ],
      { precision: 'n' },
    );
    expect((await hourPoints(pid)).find((p) => p.d === wear && p.time === H0)?.m ?? null).toBeNull();
    expect(await reader.readMinuteSums(range)).toEqual(fromMinutes);
    const again = (await hourPoints(pid)).find((p) => p.d === wear && p.time === H0)!;
    // A minute point closed before final lines repeated `o` (it has `c` only) is counted too.
    const legacy = sealRollup(pki.keyring, { deviceId: `old-${pid}`, patientId: pid }, H0 + 90 * MIN, 0, {
      heart_rate: { count: 1, value: { min: 64, max: 64, sum: 64, n: 1 } },
    }).replace(' o=1i,', ' ');
    await influx.client.writeLines([legacy], { precision: 'n' });
    const withLegacy = await reader.readMinuteSums({ ...range, types: ['heart_rate'] });
    const wearable = fromMinutes.get('heart_rate')!.get(H0 + 90 * MIN)!.value!;
    expect(withLegacy.get('heart_rate')?.get(H0 + 90 * MIN)).toEqual({
      value: { sum: wearable.sum + 64, n: wearable.n + 1 },
    });
    // Sealed and bound to its hour: moved to the next hour, the minute sums do not open.
    const sums = openHourMinuteSums(pki.keyring, pid, { ...at, sealed: again.m as string });
    expect(sums.heart_rate?.value?.length).toBe(12);
    expect(() =>
      openHourMinuteSums(pki.keyring, pid, { ...at, time: H0 + HOUR, sealed: again.m as string }),
    ).toThrow(/failed authentication/);
  });
});

/** The sums (what a mean needs) of per-minute statistics. */
function sumsOf(stats: StatsByType) {
  return new Map(
    [...stats].map(([type, byMinute]) => [
      type,
      new Map(
        [...byMinute].map(([minute, st]) => [
          minute,
          Object.fromEntries(
            (['value', 'systolic', 'diastolic'] as const)
              .filter((c) => st[c])
              .map((c) => [c, { sum: st[c]!.sum, n: st[c]!.n }]),
          ),
        ]),
      ),
    ]),
  );
}
