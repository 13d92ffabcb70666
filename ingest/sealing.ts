// Encryption before storage. Each reading becomes one InfluxDB point:
//   telemetry,s=<pseudonym>,d=<device id>,t=<type> c="<base64 AES-256-GCM>",k=<key version>i <µs>
// The subject tag is an HMAC pseudonym, never the patient id; no value is ever in plaintext.
// The timestamp is the reading's time in microseconds plus its index in the envelope, so two
// readings of one envelope never overwrite each other while a resent envelope overwrites its own
// points (idempotent writes). The associated data binds each ciphertext to its series and time.
import { escapeKey, stringField } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import type { ReadingType } from '../core/domain.js';
import type { Reading, TelemetryEnvelope } from './schemas.js';

export const TELEMETRY_MEASUREMENT = 'telemetry';
/** Key subject for readings of devices bound to no patient. */
export const QUARANTINE_SUBJECT = 'quarantine';

export interface SealingTarget {
  deviceId: string;
  patientId: string | null;
}

export function keySubjectFor(patientId: string | null): string {
  return patientId ? patientKeySubject(patientId) : QUARANTINE_SUBJECT;
}

export function pseudonymFor(keyring: Keyring, patientId: string | null): string {
  return keyring.pseudonym(patientId ?? QUARANTINE_SUBJECT);
}

function associatedData(pseudonym: string, deviceId: string, type: string, timeUs: number): string {
  return `${pseudonym}|${deviceId}|${type}|${timeUs}`;
}

/** Line-protocol lines (µs precision) for every reading of an accepted envelope. */
export function sealEnvelope(keyring: Keyring, target: SealingTarget, envelope: TelemetryEnvelope): string[] {
  const subject = keySubjectFor(target.patientId);
  const pseudonym = pseudonymFor(keyring, target.patientId);
  const device = escapeKey(target.deviceId);
  return envelope.readings.map((reading, i) => {
    const { type, ts, ...value } = reading;
    const timeUs = (ts ?? envelope.ts) * 1000 + i;
    const sealed = keyring.seal(
      subject,
      Buffer.from(JSON.stringify(value)),
      associatedData(pseudonym, target.deviceId, type, timeUs),
    );
    return `${TELEMETRY_MEASUREMENT},s=${pseudonym},d=${device},t=${type} c=${stringField(sealed.ciphertext.toString('base64'))},k=${sealed.keyVersion}i ${timeUs}`;
  });
}

export interface StoredPoint {
  /** µs since the epoch, as stored. */
  time: number;
  s: string;
  d: string;
  t: string;
  c: string;
  k: number;
}

export interface OpenedReading {
  deviceId: string;
  /** Milliseconds since the epoch. */
  ts: number;
  reading: Reading;
}

/** Decrypts one stored point of a patient (throws DECRYPTION_FAILED / KEY_DESTROYED). */
export function openPoint(keyring: Keyring, patientId: string | null, point: StoredPoint): OpenedReading {
  const plain = keyring.open(
    keySubjectFor(patientId),
    point.k,
    Buffer.from(point.c, 'base64'),
    associatedData(point.s, point.d, point.t, point.time),
  );
  const value = JSON.parse(plain.toString('utf8')) as Record<string, unknown>;
  const ts = Math.floor(point.time / 1000);
  return { deviceId: point.d, ts, reading: { type: point.t as ReadingType, ...value, ts } as Reading };
}
