// One-minute rollups at intake: what a rollup line holds, that it opens only in its own series,
// minute and slot, and how the accumulators take (or do not take) a message's readings.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../../../core/keyring.js';
import { patientKeySubject } from '../../../core/patient-registry.js';
import { openDatabase } from '../../../core/store/database.js';
import { MetaRepository } from '../../../core/store/meta.js';
import { MinuteRollups } from '../../../ingest/minute-rollups.js';
import {
  markRollupsSince,
  openRollup,
  ROLLUP_MEASUREMENT,
  rollupsSince,
  type StoredRollup,
} from '../../../ingest/rollup-sealing.js';
import { pseudonymFor } from '../../../ingest/sealing.js';
import type { TelemetryEnvelope } from '../../../ingest/schemas.js';

const MIN = 60_000;
const T = 1_800_000_000_000; // a whole minute
const target = { deviceId: 'wear-1', patientId: 'pat_one' };

function setup(now = () => T) {
  const db = openDatabase(':memory:');
  const keyring = new Keyring(db, randomBytes(32));
  return { db, keyring, rollups: new MinuteRollups(keyring, { now }) };
}

function hrMessage(seq: number, ...readings: [number, number][]): TelemetryEnvelope {
  return {
    v: 1,
    seq,
    ts: readings[0]![0],
    readings: readings.map(([ts, value]) => ({ type: 'heart_rate', value, unit: '/min', ts })),
  };
}

/** A rollup line as InfluxDB would return it at epoch u. */
function stored(line: string): StoredRollup {
  const m = /^telemetry_1m,d=([^,]+),s=([0-9a-f]+),t=(\w+) c="([A-Za-z0-9+/=]+)",k=(\d+)i (\d+)000$/.exec(
    line,
  );
  if (!m) throw new Error(`not a rollup line: ${line}`);
  return { d: m[1]!, s: m[2]!, t: m[3]!, c: m[4]!, k: Number(m[5]), time: Number(m[6]) };
}

describe('rollup lines', () => {
  it('carry only the pseudonym and ciphertext, and open to the minute’s statistics', () => {
    const { keyring, rollups } = setup();
    const { lines } = rollups.prepare(target, hrMessage(7, [T + 1000, 60], [T + 2000, 90], [T + MIN, 75]));
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(
        line.startsWith(
          `${ROLLUP_MEASUREMENT},d=wear-1,s=${pseudonymFor(keyring, 'pat_one')},t=heart_rate c="`,
        ),
      ).toBe(true);
      expect(line).not.toContain('pat_one');
      // Fields c (base64) and k only: stored() accepts nothing else.
      expect(stored(line).c.length).toBeGreaterThan(38);
    }
    const first = openRollup(keyring, 'pat_one', stored(lines[0]!));
    expect(first).toEqual({
      minute: T,
      stats: { count: 2, value: { min: 60, max: 90, sum: 150, n: 2 } },
    });
    // The slot is the seq of the message that opened the accumulator, in microseconds.
    expect(stored(lines[0]!).time).toBe(T * 1000 + 7);
    expect(openRollup(keyring, 'pat_one', stored(lines[1]!)).minute).toBe(T + MIN);
  });

  it('do not open in another slot, minute, device, type or patient, nor after shredding', () => {
    const { keyring, rollups } = setup();
    const point = stored(rollups.prepare(target, hrMessage(3, [T + 5, 70])).lines[0]!);
    const fails = (p: StoredRollup, patient = 'pat_one') =>
      expect(() => openRollup(keyring, patient, p)).toThrow(
        expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
      );
    fails({ ...point, time: point.time + 1 });
    fails({ ...point, time: point.time + MIN * 1000 });
    fails({ ...point, d: 'wear-2' });
    fails({ ...point, t: 'spo2' });
    keyring.seal(patientKeySubject('pat_two'), Buffer.from('x'), 'x');
    fails(point, 'pat_two');
    keyring.shred(patientKeySubject('pat_one'));
    expect(() => openRollup(keyring, 'pat_one', point)).toThrow(
      expect.objectContaining({ code: 'KEY_DESTROYED' }),
    );
    expect(() => rollups.prepare(target, hrMessage(4, [T + 6, 70]))).toThrow(
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
    const first = stored(a.lines[0]!);
    const second = stored(b.lines[0]!);
    // Same slot: the second line overwrites the first in InfluxDB.
    expect(second.time).toBe(first.time);
    expect(openRollup(keyring, 'pat_one', second).stats).toEqual({
      count: 2,
      value: { min: 60, max: 80, sum: 140, n: 2 },
    });
  });

  it('keeps patients, devices and types apart, and counts blood pressure and ECG components', () => {
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
    expect(bp.lines).toHaveLength(2);
    expect(openRollup(keyring, 'pat_one', stored(bp.lines[0]!)).stats).toEqual({
      count: 2,
      systolic: { min: 120, max: 140, sum: 260, n: 2 },
      diastolic: { min: 70, max: 80, sum: 150, n: 2 },
    });
    const ecg = openRollup(keyring, 'pat_one', stored(bp.lines[1]!)).stats;
    expect(ecg).toMatchObject({ count: 1, value: { min: -0.2, max: 0.3, n: 3 } });
    bp.commit();
    const other = rollups.prepare({ deviceId: 'bp-1', patientId: 'pat_two' }, hrMessage(10, [T + 30, 66]));
    expect(other.lines[0]).toContain(`s=${pseudonymFor(keyring, 'pat_two')}`);
  });

  it('lets idle accumulators go; a late reading for their minute gets a slot of its own', () => {
    let now = T;
    const { keyring, rollups } = setup(() => now);
    const a = rollups.prepare(target, hrMessage(100, [T + 1000, 60]));
    a.commit();
    now += 10 * MIN;
    const next = rollups.prepare(target, hrMessage(101, [T + 10 * MIN, 61]));
    next.commit();
    expect(rollups.size).toBe(1);
    const late = rollups.prepare(target, hrMessage(102, [T + 2000, 90]));
    const lateLine = stored(late.lines[0]!);
    expect(lateLine.time).not.toBe(stored(a.lines[0]!).time);
    expect(openRollup(keyring, 'pat_one', lateLine)).toEqual({
      minute: T,
      stats: { count: 1, value: { min: 90, max: 90, sum: 90, n: 1 } },
    });
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
