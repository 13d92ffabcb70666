// The one-minute rollups in InfluxDB: statistics (ReadingStats) of a device's readings of one
// type within one minute, sealed under the patient's data key exactly as readings are:
//
//   telemetry_1m,d=<device id>,s=<pseudonym>,t=<type> c="<base64 AES-256-GCM>",k=<key version>i <ns>
//
// One rollup point covers the readings one intake accumulator saw (minute-rollups.ts). Its time
// is the minute's start plus a slot in microseconds, the seq of the message that opened the
// accumulator (mod 60,000,000), so accumulators of the same minute (after a restart, or a
// store-and-forward reading arriving once the minute's accumulator was let go) have points of
// their own, while each accumulator's latest line overwrites its earlier ones. A minute's
// statistics are the merge of all its points. The associated data binds each rollup to its
// series, minute and slot (`rollup|1m|pseudonym|device|type|minute ms|slot`), so a rollup moved
// to another patient, device, type, minute or slot (copied to count twice) does not open.
// Points are read back at epoch `u`, which keeps the slot exact.
import { VitalGateError } from '../core/errors.js';
import { escapeKey } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import type { MetaRepository } from '../core/store/meta.js';
import { isReadingStats, type ReadingStats } from './reading-stats.js';
import { keySubjectFor, pseudonymFor, type SealingTarget } from './sealing.js';

export const ROLLUP_MEASUREMENT = 'telemetry_1m';
export const MINUTE_MS = 60_000;
/** Slots per minute: microseconds. */
const SLOTS = MINUTE_MS * 1000;
/** The control-plane meta key naming the first minute every reading of which has a rollup. */
export const ROLLUPS_SINCE_KEY = 'telemetry_rollups_since';

/**
 * Records, once, the first minute from which every accepted reading has a rollup: readings
 * accepted before this hub wrote rollups are at most the allowed clock skew ahead of their
 * arrival. Readers take older minutes from the points themselves.
 */
export function markRollupsSince(
  meta: Pick<MetaRepository, 'get' | 'set'>,
  clockSkewMs: number,
  now: number,
): void {
  if (meta.get(ROLLUPS_SINCE_KEY) !== undefined) return;
  meta.set(ROLLUPS_SINCE_KEY, String(Math.ceil((now + clockSkewMs) / MINUTE_MS) * MINUTE_MS));
}

/** The first minute (epoch ms) covered by rollups; undefined before ingest ever wrote one. */
export function rollupsSince(meta: Pick<MetaRepository, 'get'>): number | undefined {
  const value = meta.get(ROLLUPS_SINCE_KEY);
  return value === undefined ? undefined : Number(value);
}

export function rollupSlot(seq: number): number {
  return seq % SLOTS;
}

function rollupAad(pseudonym: string, deviceId: string, type: string, minute: number, slot: number): string {
  return `rollup|1m|${pseudonym}|${deviceId}|${type}|${minute}|${slot}`;
}

/** The line-protocol line (ns precision) of a rollup. Throws KEY_DESTROYED for an erased patient. */
export function sealRollup(
  keyring: Keyring,
  target: SealingTarget,
  type: string,
  minute: number,
  slot: number,
  stats: Readonly<ReadingStats>,
): string {
  const pseudonym = pseudonymFor(keyring, target.patientId);
  const sealed = keyring.seal(
    keySubjectFor(target.patientId),
    Buffer.from(JSON.stringify(stats)),
    rollupAad(pseudonym, target.deviceId, type, minute, slot),
  );
  const us = minute * 1000 + slot;
  return `${ROLLUP_MEASUREMENT},d=${escapeKey(target.deviceId)},s=${pseudonym},t=${type} c="${sealed.ciphertext.toString('base64')}",k=${sealed.keyVersion}i ${us}000`;
}

/** One rollup point as InfluxDB returns it at epoch `u`. */
export interface StoredRollup {
  /** Microseconds since the epoch. */
  time: number;
  d: string;
  s: string;
  t: string;
  c: string;
  k: number;
}

/**
 * Opens a rollup point of the patient's (null: of unbound devices). Returns its minute (epoch ms)
 * and statistics. Throws DECRYPTION_FAILED when it was moved or altered, KEY_DESTROYED once the
 * patient was erased.
 */
export function openRollup(
  keyring: Keyring,
  patientId: string | null,
  point: StoredRollup,
): { minute: number; stats: ReadingStats } {
  const minute = Math.floor(point.time / SLOTS) * MINUTE_MS;
  const slot = point.time - minute * 1000;
  const plain = keyring.open(
    keySubjectFor(patientId),
    point.k,
    Buffer.from(point.c, 'base64'),
    rollupAad(point.s, point.d, point.t, minute, slot),
  );
  const stats: unknown = JSON.parse(plain.toString('utf8'));
  if (!isReadingStats(stats))
    throw new VitalGateError('DECRYPTION_FAILED', 'a rollup opened to something that is not a rollup');
  return { minute, stats };
}
