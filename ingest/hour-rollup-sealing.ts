// Hourly rollups in InfluxDB: one point per device and hour with the statistics of every type
// for that hour, merged from the hour's one-minute rollup points (rollup-sealing.ts), and how
// many minute rollup points went into it. Sealed under the patient's data key exactly as
// readings and minute rollups are:
//
//   telemetry_hours,d=<device id>,s=<pseudonym> c="<base64>",k=<key version>i[,m="<base64>"] <ns>
//
// `m`, when present, holds the hour's sums per minute (what a minute's mean needs, for reports
// that judge minute by minute over 90 days: 2,160 hourly points instead of 129,600 minutes). It is
// a field of its own so a chart, which reads `c` only, does not fetch it. An hourly point without
// `m` (written before it existed) is read from its minutes by such a reader, and written again.
//
// An hourly point stands for its hour only while the hour still has exactly that many minute
// rollup points, all closed: a reading that arrived later (store-and-forward) adds a minute point
// of its own, so readers see the counts differ and go back to the minutes. The associated data
// binds each sealed value to its field, series and hour (`rollup-hour|pseudonym|device|hour ms`
// for `c`, `rollup-hour-m|…` for `m`), so a point moved to another patient, device or hour does
// not open.
import { READING_TYPES, type ReadingType } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import { escapeKey } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import { STAT_COMPONENTS, isReadingStats, type StatComponent } from './reading-stats.js';
import type { MinuteStats } from './rollup-sealing.js';
import { keySubjectFor, pseudonymFor, type SealingTarget } from './sealing.js';

export const HOUR_ROLLUP_MEASUREMENT = 'telemetry_hours';
export const HOUR_MS = 3_600_000;

/**
 * An hour's sums per minute: per type and component, `[minute of the hour (0-59), sum, n]` of
 * each minute that has the component.
 */
export type HourMinuteSums = Partial<
  Record<ReadingType, Partial<Record<StatComponent, [number, number, number][]>>>
>;

/** What an hourly point holds once opened. */
export interface HourRollup {
  /** The minute rollup points merged into it. */
  minutePoints: number;
  stats: MinuteStats;
  /** The hour's sums per minute (field `m`); written with the rollup since reports read them. */
  minuteSums?: HourMinuteSums;
}

function hourAad(field: 'c' | 'm', pseudonym: string, deviceId: string, hour: number): string {
  return `${field === 'c' ? 'rollup-hour' : 'rollup-hour-m'}|${pseudonym}|${deviceId}|${hour}`;
}

/** The minute sums of an hour from its minutes' statistics (minute start ms → statistics). */
export function hourMinuteSums(hour: number, minutes: ReadonlyMap<number, MinuteStats>): HourMinuteSums {
  const out: HourMinuteSums = {};
  for (const [minute, stats] of [...minutes].sort((a, b) => a[0] - b[0])) {
    const index = (minute - hour) / 60_000;
    for (const [type, s] of Object.entries(stats) as [ReadingType, MinuteStats[ReadingType]][])
      for (const c of STAT_COMPONENTS) {
        const one = s?.[c];
        if (one) (((out[type] ??= {})[c] ??= []) as [number, number, number][]).push([index, one.sum, one.n]);
      }
  }
  return out;
}

/** The line (ns precision) of one device's hour. Throws KEY_DESTROYED for an erased patient. */
export function sealHourRollup(
  keyring: Keyring,
  target: SealingTarget,
  hour: number,
  rollup: Readonly<HourRollup>,
): string {
  const pseudonym = pseudonymFor(keyring, target.patientId);
  const sealer = keyring.sealer(keySubjectFor(target.patientId));
  const seal = (field: 'c' | 'm', value: unknown) =>
    sealer
      .seal(Buffer.from(JSON.stringify(value)), hourAad(field, pseudonym, target.deviceId, hour))
      .toString('base64');
  // base64 has no quote, backslash or newline: the string fields need no escaping.
  const m = rollup.minuteSums ? `,m="${seal('m', rollup.minuteSums)}"` : '';
  return `${HOUR_ROLLUP_MEASUREMENT},d=${escapeKey(target.deviceId)},s=${pseudonym} c="${seal('c', { n: rollup.minutePoints, s: rollup.stats })}",k=${sealer.keyVersion}i${m} ${hour}000000`;
}

/** A stored hourly point as read back (`time` in ms), with the sealed field to be opened. */
interface StoredHour {
  time: number;
  d: string;
  s: string;
  sealed: string;
  k: number;
}

function openField(keyring: Keyring, patientId: string | null, field: 'c' | 'm', point: StoredHour): unknown {
  const plain = keyring.open(
    keySubjectFor(patientId),
    point.k,
    Buffer.from(point.sealed, 'base64'),
    hourAad(field, point.s, point.d, point.time),
  );
  return JSON.parse(plain.toString('utf8')) as unknown;
}

/**
 * Opens one device's hour (`time` in ms). Throws DECRYPTION_FAILED when it was moved or altered,
 * KEY_DESTROYED once the patient was erased.
 */
export function openHourRollup(keyring: Keyring, patientId: string | null, point: StoredHour): HourRollup {
  const value = openField(keyring, patientId, 'c', point) as { n?: unknown; s?: unknown };
  const stats = value.s as Record<string, unknown> | null;
  if (
    !Number.isSafeInteger(value.n) ||
    (value.n as number) < 1 ||
    typeof stats !== 'object' ||
    stats === null ||
    Array.isArray(stats) ||
    !Object.entries(stats).every(
      ([t, s]) => (READING_TYPES as readonly string[]).includes(t) && isReadingStats(s),
    )
  )
    throw new VitalGateError('DECRYPTION_FAILED', 'an hourly rollup opened to something that is not one');
  return { minutePoints: value.n as number, stats: stats as MinuteStats };
}

/** Opens one device's hour's minute sums (`sealed` = `m`); errors as `openHourRollup`. */
export function openHourMinuteSums(
  keyring: Keyring,
  patientId: string | null,
  point: StoredHour,
): HourMinuteSums {
  const value = openField(keyring, patientId, 'm', point);
  const isEntry = (e: unknown) =>
    Array.isArray(e) &&
    e.length === 3 &&
    Number.isInteger(e[0]) &&
    (e[0] as number) >= 0 &&
    (e[0] as number) < 60 &&
    typeof e[1] === 'number' &&
    Number.isFinite(e[1]) &&
    Number.isSafeInteger(e[2]) &&
    (e[2] as number) >= 1;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.entries(value).every(
      ([t, byComponent]) =>
        (READING_TYPES as readonly string[]).includes(t) &&
        typeof byComponent === 'object' &&
        byComponent !== null &&
        Object.entries(byComponent as object).every(
          ([c, entries]) =>
            (STAT_COMPONENTS as readonly string[]).includes(c) &&
            Array.isArray(entries) &&
            entries.every(isEntry),
        ),
    );
  if (!ok)
    throw new VitalGateError('DECRYPTION_FAILED', 'an hourly rollup opened to something that is not one');
  return value as HourMinuteSums;
}
