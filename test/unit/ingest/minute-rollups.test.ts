// One-minute rollups at intake: what a rollup line holds, that it opens only in its own series,
// minute, slot and field, how the accumulators take (or do not take) a message's readings, and
// when a minute is closed with its block of readings.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
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
  /** Microseconds since the epoch. */
  time: number;
  /** Statistics and block, when this is a final line. */
  stats?: StoredRollup;
  block?: StoredRollup;
}

/** A rollup line as InfluxDB would return it at epoch u: open, or final with its sealed fields. */
function stored(line: string): Line {
  const open = /^telemetry_minutes,d=[^,]+,s=[0-9a-f]+ o=1i (\d+)000$/.exec(line);
  if (open) return { time: Number(open[1]) };
  const m =
    /^telemetry_minutes,d=([^,]+),s=([0-9a-f]+) o=1i,c="([A-Za-z0-9+/=]+)",k=(\d+)i(?:,r="([A-Za-z0-9+/=]+)")? (\d+)000$/.exec(
      line,
    );
  if (!m) throw new Error(`not a rollup line: ${line}`);
  const point = { d: m[1]!, s: m[2]!, k: Number(m[4]), time: Number(m[6]) };
  return {
    time: point.time,
    stats: { ...point, sealed: m[3]! },
    ...(m[5] ? { block: { ...point, sealed: m[5] } } : {}),
  };
}

const stats = (keyring: Keyring, line: string) => openRollupStats(keyring, 'pat_one', stored(line).stats!);
const block = (keyring: Keyring, line: string) => openRollupBlock(keyring, 'pat_one', stored(line).block!);
const isFinal = (line: string) => stored(line).stats !== undefined;

describe('rollup lines', () => {
  it('are open lines while the minute is open: the pseudonym and the slot, nothing sealed', () => {
    const { keyring, rollups } = setup();
    const { lines } = rollups.prepare(target, hrMessage(7, [T + 1000, 60], [T + 2000, 90], [T + MIN, 75]));
    expect(lines).toEqual([
      `${ROLLUP_MEASUREMENT},d=wear-1,s=${pseudonymFor(keyring, 'pat_one')} o=1i ${T * 1000 + 7}000`,
      `${ROLLUP_MEASUREMENT},d=wear-1,s=${pseudonymFor(keyring, 'pat_one')} o=1i ${(T + MIN) * 1000 + 7}000`,
    ]);
  });

  it('close a minute with every type’s statistics and its readings, when the device moves on', () => {
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
          { type: 'ecg', samples: [0.1, -0.2, 0.3], sampleRateHz: 250, unit: 'mV' },
        ],
      })
      .commit();
    rollups.prepare(target, hrMessage(2, [T + 59_999, 62])).commit();
    // A message that is not committed closes nothing: the next one closes the minute again.
    rollups.prepare(target, hrMessage(3, [T + MIN, 63])).abort();
    const next = rollups.prepare(target, hrMessage(4, [T + MIN + 5, 64]));
    expect(next.lines.map(isFinal)).toEqual([true, false]);
    const final = next.lines[0]!;
    expect(final).not.toContain('pat_one');
    expect(stored(final).time).toBe(T * 1000 + 1);
    expect(stats(keyring, final)).toEqual({
      minute: T,
      stats: {
        heart_rate: { count: 2, value: { min: 61, max: 62, sum: 123, n: 2 } },
        body_temperature: { count: 1, value: { min: 36.6, max: 36.6, sum: 36.6, n: 1 } },
        location: { count: 1 },
        ecg: { count: 1, value: { min: -0.2, max: 0.3, sum: expect.closeTo(0.2, 10), n: 3 } },
      },
    });
    // Offsets in the minute and the values as sealed; ECG waveforms stay in their points.
    expect(block(keyring, final)).toEqual({
      minute: T,
      block: {
        heart_rate: [1000, 61, 59_999, 62],
        body_temperature: [1000, 36.6],
        location: [1000, { lat: 52.37, lon: 4.89, accuracyM: 12 }],
      },
    });
    next.commit();
    expect(rollups.size).toBe(1);
    expect(rollups.heldReadings).toBe(1);
  });

  it('do not open in another slot, minute, device, field or patient, nor after shredding', () => {
    const { keyring, rollups } = setup();
    rollups.prepare(target, hrMessage(3, [T + 5, 70])).commit();
    const final = stored(rollups.prepare(target, hrMessage(4, [T + MIN, 70])).lines[0]!);
    const point = final.stats!;
    const fails = (p: StoredRollup, patient = 'pat_one') =>
      expect(() => openRollupStats(keyring, patient, p)).toThrow(
        expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
      );
    fails({ ...point, time: point.time + 1 });
    fails({ ...point, time: point.time + MIN * 1000 });
    fails({ ...point, d: 'wear-2' });
    // The block does not open as statistics, nor the statistics as a block.
    fails(final.block!);
    expect(() => openRollupBlock(keyring, 'pat_one', point)).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
    keyring.seal(patientKeySubject('pat_two'), Buffer.from('x'), 'x');
    fails(point, 'pat_two');
    keyring.shred(patientKeySubject('pat_one'));
    expect(() => openRollupBlock(keyring, 'pat_one', final.block!)).toThrow(
      expect.objectContaining({ code: 'KEY_DESTROYED' }),
    );
  });
});

describe('the accumulators', () => {
  it('take a message’s readings only once it is committed', () => {
    const { keyring, rollups } = setup();
    rollups.prepare(target, hrMessage(1, [T + 1000, 50])); // never durable: not committed
    const a = rollups.prepare(target, hrMessage(2, [T + 2000, 60]));
    a.commit();
    const b = rollups.prepare(target, hrMessage(3, [T + 3000, 80]));
    b.commit();
    // Same slot: one rollup point.
    expect(b.lines).toEqual(a.lines);
    const final = rollups.prepare(target, hrMessage(4, [T + MIN, 1])).lines[0]!;
    expect(stats(keyring, final).stats).toEqual({
      heart_rate: { count: 2, value: { min: 60, max: 80, sum: 140, n: 2 } },
    });
    expect(block(keyring, final).block).toEqual({ heart_rate: [2000, 60, 3000, 80] });
  });

  it('keep patients and devices apart, and count blood pressure and ECG components', () => {
    const { keyring, rollups } = setup();
    const cuff = { deviceId: 'bp-1', patientId: 'pat_one' };
    rollups
      .prepare(cuff, {
        v: 1,
        seq: 9,
        ts: T + 10,
        readings: [
          { type: 'blood_pressure', systolic: 120, diastolic: 80, unit: 'mm[Hg]' },
          { type: 'blood_pressure', systolic: 140, diastolic: 70, unit: 'mm[Hg]', ts: T + 20 },
        ],
      })
      .commit();
    const other = rollups.prepare({ deviceId: 'bp-1', patientId: 'pat_two' }, hrMessage(10, [T + MIN, 66]));
    // Another patient's message closes nothing of pat_one's.
    expect(other.lines).toHaveLength(1);
    expect(other.lines[0]).toContain(`s=${pseudonymFor(keyring, 'pat_two')}`);
    other.commit();
    const final = rollups.prepare(cuff, { v: 1, seq: 11, ts: T + MIN, readings: [] }).lines[0]!;
    expect(stats(keyring, final).stats).toEqual({
      blood_pressure: {
        count: 2,
        systolic: { min: 120, max: 140, sum: 260, n: 2 },
        diastolic: { min: 70, max: 80, sum: 150, n: 2 },
      },
    });
    expect(block(keyring, final).block).toEqual({
      blood_pressure: [
        10,
        { systolic: 120, diastolic: 80, unit: 'mm[Hg]' },
        20,
        { systolic: 140, diastolic: 70, unit: 'mm[Hg]' },
      ],
    });
  });

  it('give a late reading for a closed minute a slot of its own, closed in its turn', () => {
    const { keyring, rollups } = setup();
    rollups.prepare(target, hrMessage(1, [T + 1000, 60])).commit();
    rollups.prepare(target, hrMessage(2, [T + MIN, 61])).commit();
    const late = rollups.prepare(target, hrMessage(3, [T + 30_000, 90]));
    expect(late.lines.map((l) => stored(l).time)).toEqual([T * 1000 + 3]);
    late.commit();
    const after = rollups.prepare(target, hrMessage(4, [T + 2 * MIN, 70]));
    expect(after.lines.map(isFinal)).toEqual([true, true, false]);
    expect(block(keyring, after.lines[1]!)).toEqual({ minute: T, block: { heart_rate: [30_000, 90] } });
  });

  it('close a minute with more readings than a block holds without its block', () => {
    const { keyring, rollups } = setup({ maxBlockReadings: 3 });
    rollups.prepare(target, hrMessage(1, [T + 1, 60], [T + 2, 61])).commit();
    rollups.prepare(target, hrMessage(2, [T + 3, 62], [T + 4, 63])).commit();
    expect(rollups.heldReadings).toBe(0);
    const next = rollups.prepare(target, hrMessage(3, [T + MIN, 64]));
    expect(stored(next.lines[0]!).block).toBeUndefined();
    expect(stats(keyring, next.lines[0]!).stats.heart_rate!.count).toBe(4);
    next.commit();
    expect(rollups.heldReadings).toBe(1);
  });
});

describe('idle minutes', () => {
  it('are closed by the next records of any device, a few per record', () => {
    let now = T;
    const { keyring, rollups } = setup({ now: () => now });
    for (let i = 0; i < 20; i++)
      rollups
        .prepare({ deviceId: `wear-${i}`, patientId: 'pat_one' }, hrMessage(1, [T + i, 60 + i]))
        .commit();
    now += 4 * MIN;
    const other = { deviceId: 'scale-1', patientId: 'pat_one' };
    const first = rollups.prepare(other, hrMessage(1, [now, 70]));
    first.commit();
    // The sweep of that commit let the 20 go; the next records close them, 16 and then 4.
    expect(rollups.size).toBe(21);
    const second = rollups.prepare(other, hrMessage(2, [now + 1, 70]));
    expect(second.lines.filter(isFinal)).toHaveLength(16);
    second.commit();
    const third = rollups.prepare(other, hrMessage(3, [now + 2, 70]));
    const finals = third.lines.filter(isFinal);
    expect(finals).toHaveLength(4);
    expect(block(keyring, finals[3]!)).toEqual({ minute: T, block: { heart_rate: [19, 79] } });
    third.commit();
    expect(rollups.size).toBe(1);
    expect(rollups.heldReadings).toBe(3);
  });

  it('of an erased patient are let go without failing another patient’s message', () => {
    let now = T;
    const { keyring, rollups } = setup({ now: () => now });
    rollups.prepare({ deviceId: 'wear-9', patientId: 'pat_gone' }, hrMessage(1, [T, 60])).commit();
    now += 4 * MIN;
    rollups.prepare(target, hrMessage(1, [now, 61])).commit();
    keyring.shred(patientKeySubject('pat_gone'));
    const next = rollups.prepare(target, hrMessage(2, [now + 1, 62]));
    expect(next.lines.filter(isFinal)).toHaveLength(0);
    next.commit();
    expect(rollups.size).toBe(1);
  });

  it('are closed once: records prepared together take different ones, an aborted one gives them back', () => {
    let now = T;
    const { rollups } = setup({ now: () => now });
    for (let i = 0; i < 20; i++)
      rollups.prepare({ deviceId: `wear-${i}`, patientId: 'pat_one' }, hrMessage(1, [T + i, 60])).commit();
    now += 4 * MIN;
    const other = (n: number) => ({ deviceId: `scale-${n}`, patientId: 'pat_one' });
    rollups.prepare(other(0), hrMessage(1, [now, 70])).commit(); // its sweep lets the 20 go
    const a = rollups.prepare(other(1), hrMessage(1, [now, 70]));
    const b = rollups.prepare(other(2), hrMessage(1, [now, 70]));
    expect([a.lines.filter(isFinal).length, b.lines.filter(isFinal).length]).toEqual([16, 4]);
    expect(new Set([...a.lines, ...b.lines].filter(isFinal).map((l) => l.split(' ')[0]!)).size).toBe(20);
    a.abort();
    b.commit();
    const c = rollups.prepare(other(3), hrMessage(1, [now, 70]));
    expect(c.lines.filter(isFinal)).toHaveLength(16);
    c.commit();
    // All 20 closed; open: the minutes of scale-0, -2 and -3 (scale-1's message was aborted).
    expect(rollups.size).toBe(3);
    expect(rollups.heldReadings).toBe(3);
  });

  it('whose final line cannot be sealed are left open, without failing another patient’s message', () => {
    let now = T;
    const { keyring, rollups } = setup({ now: () => now });
    rollups.prepare({ deviceId: 'wear-9', patientId: 'pat_bad' }, hrMessage(1, [T, 60])).commit();
    now += 4 * MIN;
    rollups.prepare(target, hrMessage(1, [now, 61])).commit();
    const sealer = keyring.sealer.bind(keyring);
    vi.spyOn(keyring, 'sealer').mockImplementation((subject) => {
      if (subject === patientKeySubject('pat_bad')) throw new Error('the key store failed');
      return sealer(subject);
    });
    const next = rollups.prepare(target, hrMessage(2, [now + 1, 62]));
    expect(next.lines.filter(isFinal)).toHaveLength(0);
    expect(rollups.closeFailures).toBe(1);
    next.commit();
    expect(rollups.size).toBe(1);
  });

  it('are not let go while a message for them is in flight', () => {
    let now = T;
    const { keyring, rollups } = setup({ now: () => now });
    rollups.prepare(target, hrMessage(1, [T + 1000, 60])).commit();
    now += 4 * MIN;
    const inFlight = rollups.prepare(target, hrMessage(2, [T + 2000, 61]));
    const other = { deviceId: 'wear-2', patientId: 'pat_one' };
    rollups.prepare(other, hrMessage(1, [now, 70])).commit();
    // Still open: no other record closes it before the message in flight is committed.
    expect(rollups.prepare(other, hrMessage(2, [now + 1, 70])).lines.filter(isFinal)).toHaveLength(0);
    inFlight.commit();
    const final = rollups.prepare(target, hrMessage(3, [T + MIN, 62])).lines[0]!;
    expect(block(keyring, final).block).toEqual({ heart_rate: [1000, 60, 2000, 61] });
  });
});

describe('the first minute', () => {
  it('records the first minute covered by rollups once, past the allowed clock skew', () => {
    const meta = new MetaRepository(openDatabase(':memory:'));
    expect(rollupsSince(meta)).toBeUndefined();
    markRollupsSince(meta, 30_000, T + 45_000);
    expect(rollupsSince(meta)).toBe(T + 2 * MIN);
    markRollupsSince(meta, 30_000, T + 10 * MIN);
    expect(rollupsSince(meta)).toBe(T + 2 * MIN);
  });
});
