// The one-minute rollups in InfluxDB: one point per device, minute and slot. While the minute is
// open it has only `o` (the open line every message touching it writes); its final line adds the
// statistics of its readings of every type (`c`) and its readings themselves (`r`, the minute's
// block), sealed under the patient's data key exactly as readings are:
//
//   telemetry_minutes,d=<device id>,s=<pseudonym> o=1i <ns>
//   telemetry_minutes,d=<device id>,s=<pseudonym> o=1i,c="<base64>",k=<key version>i[,r="<base64>"] <ns>
//
// The final line repeats `o`: a point's last line has every field of the lines before it, so the
// writer may send only the last line of a point within a batch (writer.ts) and readers still
// count every point by `o` (points written before the final line repeated it may lack `o`).
//
// One rollup point covers the readings one intake accumulator saw (minute-rollups.ts). Its time
// is the minute's start plus a slot in microseconds, the seq of the message that opened the
// accumulator (mod 60,000,000), so accumulators of the same minute (after a restart, or a
// store-and-forward reading arriving once the minute was closed) have points of their own. A
// minute's statistics are the merge of all its points; a minute any point of which has no `c`
// (or no `r`) is read from its readings' points instead. ECG waveforms are never in blocks
// (they are read from their points, which hold a chunk each). The associated data binds each
// sealed value to its field, series, minute and slot (`rollup|c|pseudonym|device|minute
// ms|slot`), so a rollup moved to another patient, device, minute or slot (copied to count
// twice) does not open. Points are read back at epoch `u`, which keeps the slot exact.
import { READING_DEFINITIONS, READING_TYPES, type ReadingType } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import { escapeKey } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import type { MetaRepository } from '../core/store/meta.js';
import { isReadingStats, type ReadingStats } from './reading-stats.js';
import { keySubjectFor, pseudonymFor, type SealingTarget } from './sealing.js';

export const ROLLUP_MEASUREMENT = 'telemetry_minutes';
/**
 * Rollups of the first layout (one point per type and minute, statistics only). No longer
 * written or read; the data check still accepts what is stored there.
 */
export const FIRST_ROLLUP_MEASUREMENT = 'telemetry_1m';
export const MINUTE_MS = 60_000;
/** Slots per minute: microseconds. */
const SLOTS = MINUTE_MS * 1000;
/** The control-plane meta key naming the first minute every reading of which has a rollup. */
export const ROLLUPS_SINCE_KEY = 'telemetry_minutes_since';

/** Statistics of one device's readings of one minute, per type. */
export type MinuteStats = Partial<Record<ReadingType, ReadingStats>>;

/**
 * The readings of one device and minute, per type, as flat pairs: the reading's offset in the
 * minute (ms), then its values as sealed (`compactValues`: a scalar's number, or the values).
 */
export type MinuteBlock = Partial<Record<ReadingType, unknown[]>>;

/** Whether a type's readings are kept in minute blocks: all but ECG waveforms. */
export function inBlocks(type: ReadingType): boolean {
  return READING_DEFINITIONS[type].shape !== 'ecg';
}

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

/** The minute (epoch ms) of a rollup point's time (µs). */
export function rollupMinute(us: number): number {
  return Math.floor(us / SLOTS) * MINUTE_MS;
}

/** A rollup line: the point's series, `fields`, and its time in ns. */
function rollupLine(
  pseudonym: string,
  deviceId: string,
  minute: number,
  slot: number,
  fields: string,
): string {
  return `${ROLLUP_MEASUREMENT},d=${escapeKey(deviceId)},s=${pseudonym} ${fields} ${minute * 1000 + slot}000`;
}

/** The open line of a rollup point: there are readings in it, and it is not closed yet. */
export function openRollupLine(
  keyring: Keyring,
  target: SealingTarget,
  minute: number,
  slot: number,
): string {
  return rollupLine(pseudonymFor(keyring, target.patientId), target.deviceId, minute, slot, 'o=1i');
}

function rollupAad(
  field: 'c' | 'r',
  pseudonym: string,
  deviceId: string,
  minute: number,
  slot: number,
): string {
  return `rollup|${field}|${pseudonym}|${deviceId}|${minute}|${slot}`;
}

/**
 * The final line (ns precision) of a rollup point: its statistics and its block (none when the
 * minute had too many readings to hold). Throws KEY_DESTROYED for an erased patient.
 */
export function sealRollup(
  keyring: Keyring,
  target: SealingTarget,
  minute: number,
  slot: number,
  stats: Readonly<MinuteStats>,
  block?: Readonly<MinuteBlock>,
): string {
  const pseudonym = pseudonymFor(keyring, target.patientId);
  const sealer = keyring.sealer(keySubjectFor(target.patientId));
  const seal = (field: 'c' | 'r', value: unknown) =>
    sealer
      .seal(Buffer.from(JSON.stringify(value)), rollupAad(field, pseudonym, target.deviceId, minute, slot))
      .toString('base64');
  // base64 has no quote, backslash or newline: the string fields need no escaping.
  const r = block ? `,r="${seal('r', block)}"` : '';
  const fields = `o=1i,c="${seal('c', stats)}",k=${sealer.keyVersion}i${r}`;
  return rollupLine(pseudonym, target.deviceId, minute, slot, fields);
}

/** One rollup point as InfluxDB returns it at epoch `u`, with the field that is to be opened. */
export interface StoredRollup {
  /** Microseconds since the epoch. */
  time: number;
  d: string;
  s: string;
  /** base64 of the sealed statistics (`c`) or block (`r`). */
  sealed: string;
  k: number;
}

function openField(
  keyring: Keyring,
  patientId: string | null,
  field: 'c' | 'r',
  point: StoredRollup,
): { minute: number; value: unknown } {
  const minute = rollupMinute(point.time);
  const slot = point.time - minute * 1000;
  const plain = keyring.open(
    keySubjectFor(patientId),
    point.k,
    Buffer.from(point.sealed, 'base64'),
    rollupAad(field, point.s, point.d, minute, slot),
  );
  return { minute, value: JSON.parse(plain.toString('utf8')) };
}

const notARollup = () =>
  new VitalGateError('DECRYPTION_FAILED', 'a rollup opened to something that is not a rollup');

function isTypeMap(x: unknown): x is Record<string, unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    !Array.isArray(x) &&
    Object.keys(x).every((t) => (READING_TYPES as readonly string[]).includes(t))
  );
}

/**
 * Opens a rollup point's statistics (`sealed` = `c`) of the patient's (null: of unbound
 * devices). Throws DECRYPTION_FAILED when it was moved or altered, KEY_DESTROYED once the
 * patient was erased.
 */
export function openRollupStats(
  keyring: Keyring,
  patientId: string | null,
  point: StoredRollup,
): { minute: number; stats: MinuteStats } {
  const { minute, value } = openField(keyring, patientId, 'c', point);
  if (!isTypeMap(value) || !Object.values(value).every(isReadingStats)) throw notARollup();
  return { minute, stats: value as MinuteStats };
}

/** Opens a rollup point's block (`sealed` = `r`); errors as `openRollupStats`. */
export function openRollupBlock(
  keyring: Keyring,
  patientId: string | null,
  point: StoredRollup,
): { minute: number; block: MinuteBlock } {
  const { minute, value } = openField(keyring, patientId, 'r', point);
  if (
    !isTypeMap(value) ||
    !Object.values(value).every(
      (pairs) =>
        Array.isArray(pairs) &&
        pairs.length % 2 === 0 &&
        pairs.every((x, i) => i % 2 === 1 || (Number.isInteger(x) && x >= 0 && x < MINUTE_MS)),
    )
  )
    throw notARollup();
  return { minute, block: value as MinuteBlock };
}
