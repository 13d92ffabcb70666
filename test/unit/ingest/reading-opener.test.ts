// Bulk opening of stored points (ReadingOpener) gives what openReading gives, point by point,
// and refuses the same things: a point moved to another time or series, or an erased patient.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring } from '../../../core/keyring.js';
import { patientKeySubject } from '../../../core/patient-registry.js';
import { openDatabase } from '../../../core/store/database.js';
import { openReading, pseudonymFor, ReadingOpener, sealEnvelope } from '../../../ingest/sealing.js';

const T = 1_800_000_000_123;

function stored(line: string) {
  const m = /^telemetry,d=([^,]+),s=([0-9a-f]+),t=(\w+) c="([A-Za-z0-9+/=]+)",k=(\d+)i (\d+)$/.exec(line)!;
  return { d: m[1]!, s: m[2]!, t: m[3]!, c: m[4]!, k: Number(m[5]), time: Math.floor(Number(m[6]) / 1e6) };
}

describe('ReadingOpener', () => {
  it('opens a series of points as openReading does, across key versions', () => {
    const keyring = new Keyring(openDatabase(':memory:'), randomBytes(32));
    const target = { deviceId: 'bp-1', patientId: 'pat_one' };
    const lines = sealEnvelope(keyring, target, {
      v: 1,
      seq: 5,
      ts: T,
      readings: [
        { type: 'blood_pressure', systolic: 121, diastolic: 79, unit: 'mm[Hg]' },
        { type: 'blood_pressure', systolic: 135, diastolic: 85, unit: 'mm[Hg]', ts: T + 1000 },
      ],
    });
    keyring.rotate(patientKeySubject('pat_one'));
    lines.push(
      ...sealEnvelope(keyring, target, {
        v: 1,
        seq: 6,
        ts: T + 2000,
        readings: [{ type: 'blood_pressure', systolic: 140, diastolic: 90, unit: 'mm[Hg]' }],
      }),
    );
    const open = new ReadingOpener(keyring, 'pat_one', pseudonymFor(keyring, 'pat_one')).series(
      'bp-1',
      'blood_pressure',
    );
    const points = lines.map(stored);
    expect(points.map((p) => p.k)).toEqual([1, 1, 2]);
    for (const p of points) {
      const { reading } = openReading(keyring, 'pat_one', p);
      const { type, ts, ...values } = reading;
      expect(open(p.c, p.k, p.time)).toEqual({ ts, deviceId: 'bp-1', type, values });
    }
    expect(() => open(points[0]!.c, points[0]!.k, points[0]!.time + 1)).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
    const other = new ReadingOpener(keyring, 'pat_one', pseudonymFor(keyring, 'pat_one')).series(
      'bp-2',
      'blood_pressure',
    );
    expect(() => other(points[0]!.c, points[0]!.k, points[0]!.time)).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
    keyring.shred(patientKeySubject('pat_one'));
    const shredded = new ReadingOpener(keyring, 'pat_one', pseudonymFor(keyring, 'pat_one')).series(
      'bp-1',
      'blood_pressure',
    );
    expect(() => shredded(points[0]!.c, points[0]!.k, points[0]!.time)).toThrow(
      expect.objectContaining({ code: 'KEY_DESTROYED' }),
    );
  });

  it('opens scalar points sealed as a bare number and points sealed before that as JSON', () => {
    const keyring = new Keyring(openDatabase(':memory:'), randomBytes(32));
    const pseudonym = pseudonymFor(keyring, 'pat_one');
    const [compact] = sealEnvelope(
      keyring,
      { deviceId: 'wear-1', patientId: 'pat_one' },
      { v: 1, seq: 1, ts: T, readings: [{ type: 'heart_rate', value: 72.5, unit: '/min' }] },
    );
    // iv (12) + tag (16) + "72.5" (4) = 32 bytes, 44 base64 characters.
    expect(stored(compact!).c).toHaveLength(44);
    const seal = (type: string, plaintext: string, ms: number) => {
      const sealed = keyring.seal(
        patientKeySubject('pat_one'),
        Buffer.from(plaintext),
        `telemetry|${pseudonym}|wear-1|${type}|${ms}`,
      );
      return { d: 'wear-1', s: pseudonym, t: type, c: sealed.ciphertext.toString('base64'), k: 1, time: ms };
    };
    const legacy = seal('heart_rate', '{"value":72.5,"unit":"/min"}', T);
    const expected = { type: 'heart_rate', value: 72.5, unit: '/min', ts: T };
    expect(openReading(keyring, 'pat_one', stored(compact!)).reading).toEqual(expected);
    expect(openReading(keyring, 'pat_one', legacy).reading).toEqual(expected);
    const open = new ReadingOpener(keyring, 'pat_one', pseudonym).series('wear-1', 'heart_rate');
    for (const p of [stored(compact!), legacy])
      expect(open(p.c, p.k, p.time)).toEqual({
        ts: T,
        deviceId: 'wear-1',
        type: 'heart_rate',
        values: { value: 72.5, unit: '/min' },
      });
    // A bare number is a reading only for a scalar type.
    expect(() => openReading(keyring, 'pat_one', seal('blood_pressure', '120', T))).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
  });
});
