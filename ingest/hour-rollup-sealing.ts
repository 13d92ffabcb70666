// Hourly rollups in InfluxDB: one point per device and hour with the statistics of every type
// for that hour, merged from the hour's one-minute rollup points (rollup-sealing.ts), and how
// many minute rollup points went into it. Sealed under the patient's data key exactly as
// readings and minute rollups are:
//
//   telemetry_hours,d=<device id>,s=<pseudonym> c="<base64>",k=<key version>i <ns>
//
// An hourly point stands for its hour only while the hour still has exactly that many minute
// rollup points, all closed: a reading that arrived later (store-and-forward) adds a minute point
// of its own, so readers see the counts differ and go back to the minutes. The associated data
// binds the sealed value to its series and hour (`rollup-hour|pseudonym|device|hour ms`), so a
// point moved to another patient, device or hour does not open.
import { READING_TYPES } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import { escapeKey } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import { isReadingStats } from './reading-stats.js';
import type { MinuteStats } from './rollup-sealing.js';
import { keySubjectFor, pseudonymFor, type SealingTarget } from './sealing.js';

export const HOUR_ROLLUP_MEASUREMENT = 'telemetry_hours';
export const HOUR_MS = 3_600_000;

/** What an hourly point holds once opened. */
export interface HourRollup {
  /** The minute rollup points merged into it. */
  minutePoints: number;
  stats: MinuteStats;
}

function hourAad(pseudonym: string, deviceId: string, hour: number): string {
  return `rollup-hour|${pseudonym}|${deviceId}|${hour}`;
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
  const sealed = sealer
    .seal(
      Buffer.from(JSON.stringify({ n: rollup.minutePoints, s: rollup.stats })),
      hourAad(pseudonym, target.deviceId, hour),
    )
    .toString('base64');
  // base64 has no quote, backslash or newline: the string field needs no escaping.
  return `${HOUR_ROLLUP_MEASUREMENT},d=${escapeKey(target.deviceId)},s=${pseudonym} c="${sealed}",k=${sealer.keyVersion}i ${hour}000000`;
}

/**
 * Opens one device's hour (`time` in ms). Throws DECRYPTION_FAILED when it was moved or altered,
 * KEY_DESTROYED once the patient was erased.
 */
export function openHourRollup(
  keyring: Keyring,
  patientId: string | null,
  point: { time: number; d: string; s: string; sealed: string; k: number },
): HourRollup {
  const plain = keyring.open(
    keySubjectFor(patientId),
    point.k,
    Buffer.from(point.sealed, 'base64'),
    hourAad(point.s, point.d, point.time),
  );
  const value = JSON.parse(plain.toString('utf8')) as { n?: unknown; s?: unknown };
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
