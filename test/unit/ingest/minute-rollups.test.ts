// One-minute rollups at intake: what a rollup line holds, that it opens only in its own series,
// minute, slot and field, how the accumulators take (or do not take) a message's readings, and
// when a minute is closed with its block of readings.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../../../core/keyring.js';
import { patientKeySubject } from '../../../core/patient-registry.js';
import { openDatabase } from '../../../core/store/database.js';
import { MetaRepository } from '../../../core/store/meta.js';
import { MinuteRollups } from '../../../ingest/minute-rollups.js';
import {
  markRollupsSince,
  openRollupBlock,
  openRollupStats,
  ROLLUP_MEASUREMENT,
  rollupsSince,
  type StoredRollup,
} from '../../../ingest/rollup-sealing.js';
import { pseudonymFor } from '../../../ingest/sealing.js';
import type { TelemetryEnvelope } from '../../../ingest/schemas.js';

const MIN = 60_000;
const T = 1_800_000_000_000; // a whole minute
const target = { deviceId: 'wear-1', patientId: 'pat_one' };

function setup(options: { now?: () => number; maxBlockReadings?: number } = {}) {
  const db = openDatabase(':memory:');
  const keyring = new Keyring(db, randomBytes(32));
  return { db, keyring, rollups: new MinuteRollups(keyring, { now: () => T, ...options }) };
}

function hrMessage(seq: number, ...readings: [number, number][]): TelemetryEnvelope {
  return {
    v: 1,
    seq,
    ts: readings[0]![0],
    readings: readings.map(([ts, value]) => ({ type: 'heart_rate', value, unit: '/min', ts })),
  };
}

interface Line {
  stats: StoredRollup;
  /** The block, when the line closes its minute. */
  block?: StoredRollup;
}

/** A rollup line as InfluxDB would return it at epoch u: its statistics and block to open. */
function stored(line: string): Line {
  const m =
    /^telemetry_minutes,d=([^,]+),s=([0-9a-f]+) c="([A-Za-z0-9+/=]+)",k=(\d+)i(?:,r="([A-Za-z0-9+/=]+)")? (\d+)000$/.exec(
      line,
    );
  if (!m) throw new Error(`not a rollup line: ${line}`);
  const point = { d: m[1]!, s: m[2]!, k: Number(m[4]), time: Number(m[6]) };
  return { stats: { ...point, sealed: m[3]! }, ...(m[5] ? { block: { ...point, sealed: m[5] } } : {}) };
}

const stats = (keyring: Keyring, line: string) => openRollupStats(keyring, 'pat_one', stored(line).stats);
const block = (keyring: Keyring, line: string) => openRollupBlock(keyring, 'pat_one', stored(line).block!);

describe('rollup lines', () => {
  it('carry only the pseudonym and ciphertext, one per device and minute, with every type’s statistics', () => {
    const { keyring, rollups } = setup();
    const { lines } = rollups.prepare(target, {
      v: 1,
      seq: 7,
      ts: T + 1000,
      readings: [
        { type: 'heart_rate', value: 60, unit: '/min' },
        { type: 'spo2', value: 97, unit: '%' },
        { type: 'heart_rate', value: 90, unit: '/min', ts: T + 2000 },
        { type: 'heart_rate', value: 75, unit: '/min', ts: T + MIN },
      ],
    });
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(
        line.startsWith(`${ROLLUP_MEASUREMENT},d=wear-1,s=${pseudonymFor(keyring, 'pat_one')} c="`),
      ).toBe(true);
      expect(line).not.toContain('pat_one');
      // Fields c (base64) and k only while the minute is open: stored() accepts nothing else.
      expect(stored(line).block).toBeUndefined();
    }
    expect(stats(keyring, lines[0]!)).toEqual({
      minute: T,
      stats: {
        heart_rate: { count: 2, value: { min: 60, max: 90, sum: 150, n: 2 } },
        spo2: { count: 1, value: { min: 97, max: 97, sum: 97, n: 1 } },
      },
    });
    // The slot is the seq of the message that opened the accumulator, in microseconds.
    expect(stored(lines[0]!).stats.time).toBe(T * 1000 + 7);
    expect(stats(keyring, lines[1]!).minute).toBe(T + MIN);
  });

  it('do not open in another slot, minute, device, field or patient, nor after shredding', () => {
    const { keyring, rollups } = setup();
    rollups.prepare(target, hrMessage(3, [T + 5, 70])).commit();
    const closing = stored(rollups.prepare(target, hrMessage(4, [T + MIN, 70])).lines[0]!);
    const point = closing.stats;
    const fails = (p: StoredRollup, patient = 'pat_one') =>
      expect(() => openRollupStats(keyring, patient, p)).toThrow(
        expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
      );
    fails({ ...point, time: point.time + 1 });
    fails({ ...point, time: point.time + MIN * 1000 });
    fails({ ...point, d: 'wear-2' });
    // The block does not open as statistics, nor the statistics as a block.
    fails(closing.block!);
    expect(() => openRollupBlock(keyring, 'pat_one', point)).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
    keyring.seal(patientKeySubject('pat_two'), Buffer.from('x'), 'x');
    fails(point, 'pat_two');
    keyring.shred(patientKeySubject('pat_one'));
    expect(() => openRollupBlock(keyring, 'pat_one', closing.block!)).toThrow(
      expect.objectContaining({ code: 'KEY_DESTROYED' }),
    );
    expect(() => rollups.prepare(target, hrMessage(5, [T + 6, 70]))).toThrow(
      expect.objectContaining({ code: 'KEY_DESTROYED' }),
    );
  });
});

describe('the accumulators', () => {
  it('take a message’s readings only once it is committed; later lines cover the whole minute', () => {
    const { keyring, rollups } = setup();
    rollups.prepare(target, hrMessage(1, [T + 1000, 50])); // never durable: not committed
    const a = rollups.prepare(target, hrMessage(2, [T + 2000, 60]));
    a.commit();
    const b = rollups.prepare(target, hrMessage(3, [T + 3000, 80]));
    b.commit();
    // Same slot: the second line overwrites the first in InfluxDB.
    expect(stored(b.lines[0]!).stats.time).toBe(stored(a.lines[0]!).stats.time);
    expect(stats(keyring, b.lines[0]!).stats).toEqual({
      heart_rate: { count: 2, value: { min: 60, max: 80, sum: 140, n: 2 } },
    });
  });

  it('keeps patients and devices apart, and counts blood pressure and ECG components', () => {
    const { keyring, rollups } = setup();
    const bp = rollups.prepare(
      { deviceId: 'bp-1', patientId: 'pat_one' },
      {
        v: 1,
        seq: 9,
        ts: T + 10,
        readings: [
          { type: 'blood_pressure', systolic: 120, diastolic: 80, unit: 'mm[Hg]' },
          { type: 'blood_pressure', systolic: 140, diastolic: 70, unit: 'mm[Hg]', ts: T + 20 },
          { type: 'ecg', samples: [0.1, -0.2, 0.3], sampleRateHz: 250, unit: 'mV' },
        ],
      },
    );
    expect(bp.lines).toHaveLength(1);
    const opened = stats(keyring, bp.lines[0]!).stats;
    expect(opened.blood_pressure).toEqual({
      count: 2,
      systolic: { min: 120, max: 140, sum: 260, n: 2 },
      diastolic: { min: 70, max: 80, sum: 150, n: 2 },
    });
    expect(opened.ecg).toMatchObject({ count: 1, value: { min: -0.2, max: 0.3, n: 3 } });
    bp.commit();
    const other = rollups.prepare({ deviceId: 'bp-1', patientId: 'pat_two' }, hrMessage(10, [T + 30, 66]));
    expect(other.lines).toHaveLength(1);
    expect(other.lines[0]).toContain(`s=${pseudonymFor(keyring, 'pat_two')}`);
  });
});

describe('closing a minute', () => {
  it('happens when the device sends a later minute: the line carries the minute’s readings', () => {
    const { keyring, rollups } = setup();
    rollups
      .prepare(target, {
        v: 1,
        seq: 1,
        ts: T + 1000,
        readings: [
          { type: 'heart_rate', value: 61, unit: '/min' },
          { type: 'body_temperature', value: 36.6, unit: 'Cel' },
          { type: 'location', lat: 52.37, lon: 4.89, accuracyM: 12 },
          { type: 'ecg', samples: [0.1, 0.2], sampleRateHz: 250, unit: 'mV' },
        ],
      })
      .commit();
    rollups.prepare(target, hrMessage(2, [T + 59_999, 62])).commit();
    // A message that is not committed closes nothing: the next one closes the minute again.
    expect(rollups.prepare(target, hrMessage(3, [T + MIN, 63])).lines).toHaveLength(2);
    const next = rollups.prepare(target, hrMessage(4, [T + MIN + 5, 64]));
    expect(next.lines).toHaveLength(2);
    const [closing, current] = next.lines.map(stored);
    expect(closing!.stats.time).toBe(T * 1000 + 1);
    expect(current!.block).toBeUndefined();
    expect(stats(keyring, next.lines[0]!).stats.heart_rate!.count).toBe(2);
    // Offsets in the minute and the values as sealed; ECG waveforms stay in their points.
    expect(block(keyring, next.lines[0]!)).toEqual({
      minute: T,
      block: {
        heart_rate: [1000, 61, 59_999, 62],
        body_temperature: [1000, 36.6],
        location: [1000, { lat: 52.37, lon: 4.89, accuracyM: 12 }],
      },
    });
    next.commit();
    expect(rollups.size).toBe(1);
    // A late reading for the closed minute opens a slot of its own, closed in its turn.
    const late = rollups.prepare(target, hrMessage(5, [T + 30_000, 90]));
    late.commit();
    expect(stored(late.lines[0]!).stats.time).toBe(T * 1000 + 5);
    const after = rollups.prepare(target, { ...hrMessage(6, [T + 2 * MIN, 70]) });
    expect(after.lines.map((l) => stored(l).block !== undefined)).toEqual([true, true, false]);
    expect(block(keyring, after.lines[1]!).block).toEqual({ heart_rate: [30_000, 90] });
  });

  it('leaves a minute with more readings than a block holds to its points', () => {
    const { keyring, rollups } = setup({ maxBlockReadings: 3 });
    rollups.prepare(target, hrMessage(1, [T + 1, 60], [T + 2, 61])).commit();
    rollups.prepare(target, hrMessage(2, [T + 3, 62], [T + 4, 63])).commit();
    const next = rollups.prepare(target, hrMessage(3, [T + MIN, 64]));
    // No closing line; the statistics still count all four.
    expect(next.lines).toHaveLength(1);
    expect(rollups.heldReadings).toBe(0);
    next.commit();
    expect(rollups.size).toBe(1);
    expect(rollups.heldReadings).toBe(1);
    const more = rollups.prepare(target, hrMessage(4, [T + MIN + 1, 65]));
    expect(stats(keyring, more.lines[0]!).stats.heart_rate!.count).toBe(2);
  });

  it('lets idle accumulators go without a block; a late reading for their minute gets a slot of its own', () => {
    let now = T;
    const { keyring, rollups } = setup({ now: () => now });
    const a = rollups.prepare(target, hrMessage(100, [T + 1000, 60]));
    a.commit();
    now += 10 * MIN;
    rollups.prepare({ deviceId: 'wear-2', patientId: 'pat_one' }, hrMessage(1, [now, 61])).commit();
    expect(rollups.size).toBe(1);
    const late = rollups.prepare(target, hrMessage(102, [T + 2000, 90]));
    expect(late.lines).toHaveLength(1);
    const lateLine = stored(late.lines[0]!);
    expect(lateLine.stats.time).not.toBe(stored(a.lines[0]!).stats.time);
    expect(stats(keyring, late.lines[0]!)).toEqual({
      minute: T,
      stats: { heart_rate: { count: 1, value: { min: 90, max: 90, sum: 90, n: 1 } } },
    });
  });

  it('stays whole when another device’s sweep lets an accumulator go between prepare and commit', () => {
    let now = T;
    const { keyring, rollups } = setup({ now: () => now });
    rollups.prepare(target, hrMessage(1, [T + 1000, 60])).commit();
    now += 4 * MIN;
    const late = rollups.prepare(target, hrMessage(2, [T + 2000, 61]));
    rollups.prepare({ deviceId: 'wear-2', patientId: 'pat_one' }, hrMessage(1, [now, 70])).commit();
    expect(rollups.size).toBe(1);
    late.commit();
    expect(rollups.size).toBe(2);
    expect(rollups.heldReadings).toBe(3);
    // Still the device's: its next minute closes it, with both readings.
    const next = rollups.prepare(target, hrMessage(3, [T + MIN, 62]));
    expect(block(keyring, next.lines[0]!).block).toEqual({ heart_rate: [1000, 60, 2000, 61] });
    next.commit();
    expect(rollups.heldReadings).toBe(2);
  });

  it('records the first minute covered by rollups once, past the allowed clock skew', () => {
    const meta = new MetaRepository(openDatabase(':memory:'));
    expect(rollupsSince(meta)).toBeUndefined();
    markRollupsSince(meta, 30_000, T + 45_000);
    expect(rollupsSince(meta)).toBe(T + 2 * MIN);
    markRollupsSince(meta, 30_000, T + 10 * MIN);
    expect(rollupsSince(meta)).toBe(T + 2 * MIN);
  });
});
