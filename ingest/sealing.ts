// Encryption before storage. Each reading becomes one InfluxDB point:
//
//   telemetry,d=<device id>,s=<pseudonym>,t=<type> c="<base64 AES-256-GCM>",k=<key version>i <ns>
//
// The subject tag `s` is an HMAC pseudonym, never the patient id, and no value is in plaintext.
// A reading relayed by a gateway also has the tag `modality` (`sensed` or `manual`, not PHI):
//
//   telemetry,d=<device id>,modality=<sensed|manual>,s=<pseudonym>,t=<type> c="…",k=…i <ns>
//
// and a point without it is a direct device's, which is `sensed`. Its sealed values also hold
// its `source` (gateway, receive time, the device's own timestamp; docs/GATEWAYS.md).
// The sealed plaintext is a scalar reading's number (`72`: its unit is its type's) or the JSON
// of the other readings' values; points sealed before the compact form hold JSON for scalars
// too, and both open. The associated data binds each ciphertext to its series and millisecond
// (`pseudonym|device|type|ms`), so a ciphertext moved to another patient, device, type or time
// does not open. Points are written in nanoseconds:
//
//   ns = ts_ms · 10⁶ + (seq mod 1000) · 10³ + j
//
// where j counts the readings of the same type and millisecond within the message. Readings
// that share a series and a millisecond (ECG chunks, a device whose clock ticks in seconds) get
// different points, while a resent message (same seq) lands on exactly its own points again, so
// writes stay idempotent. Reading back at ms or µs precision yields the reading's ms.
import { VitalGateError } from '../core/errors.js';
import { escapeKey } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import { READING_DEFINITIONS, type ReadingType } from '../core/domain.js';
import type { Reading, ReadingSource, TelemetryEnvelope } from './schemas.js';

export const TELEMETRY_MEASUREMENT = 'telemetry';
/** Key subject (and pseudonym input) for readings of devices bound to no patient. */
export const QUARANTINE_SUBJECT = 'quarantine';
/** Readings of one type and millisecond that one message may carry (the j above). */
export const MAX_READINGS_PER_SLOT = 1000;
const SEQ_SLOTS = 1000;

export interface SealingTarget {
  deviceId: string;
  patientId: string | null;
}

export function keySubjectFor(patientId: string | null): string {
  return patientId ? patientKeySubject(patientId) : QUARANTINE_SUBJECT;
}

const pseudonyms = new WeakMap<Keyring, Map<string, string>>();
const PSEUDONYM_CACHE_SIZE = 100_000;

/** The `s` tag of a patient's points (of unbound devices' points for null). Cached: an HMAC each. */
export function pseudonymFor(keyring: Keyring, patientId: string | null): string {
  const id = patientId ?? QUARANTINE_SUBJECT;
  let cache = pseudonyms.get(keyring);
  if (!cache) pseudonyms.set(keyring, (cache = new Map()));
  let pseudonym = cache.get(id);
  if (pseudonym === undefined) {
    if (cache.size >= PSEUDONYM_CACHE_SIZE) cache.clear();
    pseudonym = keyring.pseudonym(id);
    cache.set(id, pseudonym);
  }
  return pseudonym;
}

/**
 * A reading's values as they are sealed: a scalar reading in its type's unit is just its number
 * (`72`); anything else is its values (`{"systolic":…}`). A reading relayed by a gateway is an
 * array: those values, then its source (`[72,"gw-1",0,receivedAt,deviceTime|null,mdc|null]`,
 * 0 sensed, 1 manual), about half the bytes of the source as an object. `valuesOf` turns each back.
 */
export function compactValues(type: ReadingType, values: Record<string, unknown>): unknown {
  const source = values.source as ReadingSource | undefined;
  if (source !== undefined) {
    const { source: _source, ...rest } = values;
    return [
      compactValues(type, rest),
      source.gateway,
      source.modality === 'manual' ? 1 : 0,
      source.receivedAt,
      source.deviceTime ?? null,
      source.mdc ?? null,
    ];
  }
  const def = READING_DEFINITIONS[type];
  if (
    def.shape === 'scalar' &&
    typeof values.value === 'number' &&
    values.unit === def.unit &&
    Object.keys(values).length === 2
  )
    return values.value;
  return values;
}

/** The values of an opened plaintext (JSON values, a scalar's number, or a relayed array), given its type. */
export function valuesOf(type: string, opened: unknown): Record<string, unknown> {
  if (Array.isArray(opened)) return relayedValuesOf(type, opened);
  if (typeof opened === 'object' && opened !== null) return opened as Record<string, unknown>;
  const def = READING_DEFINITIONS[type as ReadingType] as
    (typeof READING_DEFINITIONS)[ReadingType] | undefined;
  if (typeof opened !== 'number' || def?.shape !== 'scalar')
    throw new VitalGateError('DECRYPTION_FAILED', 'a reading opened to something that is not a reading');
  return { value: opened, unit: def.unit };
}

function relayedValuesOf(type: string, opened: unknown[]): Record<string, unknown> {
  const [values, gateway, manual, receivedAt, deviceTime, mdc] = opened;
  if (typeof gateway !== 'string' || typeof receivedAt !== 'number' || Array.isArray(values))
    throw new VitalGateError('DECRYPTION_FAILED', 'a reading opened to something that is not a reading');
  const source: ReadingSource = { gateway, modality: manual === 1 ? 'manual' : 'sensed', receivedAt };
  if (typeof deviceTime === 'number') source.deviceTime = deviceTime;
  if (typeof mdc === 'number') source.mdc = mdc;
  return { ...valuesOf(type, values), source };
}

function associatedData(pseudonym: string, deviceId: string, type: string, ms: number): string {
  return `telemetry|${pseudonym}|${deviceId}|${type}|${ms}`;
}

/** The point's time in ns, as a decimal string (it is beyond a double's exact integers). */
export function pointTime(ms: number, seq: number, j: number): string {
  const sub = (seq % SEQ_SLOTS) * 1000 + j;
  return `${ms}${String(sub).padStart(6, '0')}`;
}

/**
 * Line-protocol lines (ns precision) for every reading of an accepted envelope, sealed under the
 * patient's data key (or the quarantine key). Throws KEY_DESTROYED for an erased patient.
 */
export function sealEnvelope(keyring: Keyring, target: SealingTarget, envelope: TelemetryEnvelope): string[] {
  const subject = keySubjectFor(target.patientId);
  const pseudonym = pseudonymFor(keyring, target.patientId);
  const modality = envelope.modality === undefined ? '' : `,modality=${envelope.modality}`;
  const seriesKey = `${TELEMETRY_MEASUREMENT},d=${escapeKey(target.deviceId)}${modality},s=${pseudonym},t=`;
  const perSlot = new Map<string, number>();
  return envelope.readings.map((reading) => {
    const { type, ts, ...value } = reading;
    const ms = ts ?? envelope.ts;
    const slot = `${type}|${ms}`;
    const j = perSlot.get(slot) ?? 0;
    if (j >= MAX_READINGS_PER_SLOT)
      throw new VitalGateError(
        'TOO_MANY_READINGS_PER_SLOT',
        `over ${MAX_READINGS_PER_SLOT} ${type} readings in 1 ms`,
      );
    perSlot.set(slot, j + 1);
    const sealed = keyring.seal(
      subject,
      Buffer.from(JSON.stringify(compactValues(type, value))),
      associatedData(pseudonym, target.deviceId, type, ms),
    );
    // base64 has no quote, backslash or newline: the string field needs no escaping.
    const c = sealed.ciphertext.toString('base64');
    return `${seriesKey}${type} c="${c}",k=${sealed.keyVersion}i ${pointTime(ms, envelope.seq, j)}`;
  });
}

/** One telemetry point as InfluxDB returns it (`SELECT * FROM telemetry`, epoch ms, the default). */
export interface StoredPoint {
  /** Milliseconds since the epoch (µs or ns are floored to ms; see `epoch`). */
  time: number;
  /** Device id tag. */
  d: string;
  /** Pseudonym tag. */
  s: string;
  /** Reading type tag. */
  t: string;
  /** base64 ciphertext. */
  c: string;
  /** Key version. */
  k: number;
}

export interface OpenedReading {
  deviceId: string;
  /** Milliseconds since the epoch. */
  ts: number;
  reading: Reading;
}

/**
 * Decrypts one stored point back to the reading, given the patient it belongs to (null for
 * points of unbound devices, sealed under the quarantine key). `epoch` is the precision the
 * point's time was queried at. Throws DECRYPTION_FAILED when the point was moved to another
 * series or time or altered, and KEY_DESTROYED once the patient was erased.
 */
export function openReading(
  keyring: Keyring,
  patientId: string | null,
  point: StoredPoint,
  epoch: 'ms' | 'u' | 'ns' = 'ms',
): OpenedReading {
  const ms = epoch === 'ms' ? point.time : Math.floor(point.time / (epoch === 'u' ? 1_000 : 1_000_000));
  const plain = keyring.open(
    keySubjectFor(patientId),
    point.k,
    Buffer.from(point.c, 'base64'),
    associatedData(point.s, point.d, point.t, ms),
  );
  const value = valuesOf(point.t, JSON.parse(plain.toString('utf8')));
  return {
    deviceId: point.d,
    ts: ms,
    reading: { type: point.t as ReadingType, ...value, ts: ms } as Reading,
  };
}

/** A decrypted reading as bulk reads return it: its values without `type` and `ts`. */
export interface OpenedValues {
  deviceId: string;
  type: ReadingType;
  /** Milliseconds since the epoch. */
  ts: number;
  values: Record<string, unknown>;
}

/**
 * Opens many stored points of one patient (null: of unbound devices), as `openReading` does but
 * for bulk reads: the data key is looked up once per version, the associated data prefix once
 * per series and written into a reused buffer, the ciphertext decoded into another. Same errors
 * as `openReading`.
 */
export class ReadingOpener {
  private readonly subject: string;
  private readonly openers = new Map<number, (ciphertext: Buffer, aad: Buffer) => Buffer>();
  private aad = Buffer.alloc(256);
  private sealed = Buffer.alloc(256);

  constructor(
    private readonly keyring: Keyring,
    patientId: string | null,
    private readonly pseudonym: string,
  ) {
    this.subject = keySubjectFor(patientId);
  }

  /** The associated data of the series' points up to the millisecond, which follows it. */
  aadPrefix(deviceId: string, type: string): Buffer {
    return Buffer.from(associatedData(this.pseudonym, deviceId, type, 0).slice(0, -1), 'utf8');
  }

  /** A copy of the data key of version `k`, for opening in a worker thread (Keyring.dataKeyCopy). */
  keyCopy(k: number): Uint8Array<ArrayBuffer> {
    return this.keyring.dataKeyCopy(this.subject, k);
  }

  /** Opens the points of one series: `c` base64, `k` key version, `ms` the point's time. */
  series(deviceId: string, type: string): (c: string, k: number, ms: number) => OpenedValues {
    const prefix = this.aadPrefix(deviceId, type);
    if (this.aad.length < prefix.length + 24) this.aad = Buffer.alloc(prefix.length + 24);
    let version = -1;
    let open: ((ciphertext: Buffer, aad: Buffer) => Buffer) | undefined;
    return (c, k, ms) => {
      if (k !== version || !open) {
        open = this.openers.get(k);
        if (!open) this.openers.set(k, (open = this.keyring.opener(this.subject, k)));
        version = k;
      }
      const aad = this.aad;
      prefix.copy(aad, 0);
      const aadLength = prefix.length + aad.write(String(ms), prefix.length, 'latin1');
      if (this.sealed.length * 4 < c.length * 3) this.sealed = Buffer.alloc(c.length);
      const n = this.sealed.write(c, 0, 'base64');
      const plain = open(this.sealed.subarray(0, n), aad.subarray(0, aadLength));
      return {
        ts: ms,
        deviceId,
        type: type as ReadingType,
        values: valuesOf(type, JSON.parse(plain.toString('utf8'))),
      };
    };
  }
}
