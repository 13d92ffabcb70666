// Where days of data come from: the one-minute rollups ingest writes to InfluxDB
// (`telemetry_minutes`, ingest/rollup-sealing.ts), never readings opened from storage. Only the
// points' times and tags are read: each rollup point says "this device had readings in this
// minute", which is all day counting needs, and nothing is decrypted. A point has `o` (its open
// line), `k` (its final line) or both, so both are counted. The query counts points per device
// and UTC-aligned 15-minute bucket (every time zone's offset is a multiple of 15 minutes, so a
// bucket lies within one local date), which keeps a 1 Hz device's month to 2,880 rows instead
// of 43,200.
//
// Modality: readings a gateway relays (issue #24, docs/GATEWAYS.md) carry the tag `modality`
// (`sensed` or `manual`) on their reading points; direct devices' points carry none and are
// `sensed`. Rollups carry no modality, so for the relayed series (few readings a day: home
// monitors) the buckets come from their reading points' tags instead, again by time and tags
// only: a relayed bucket is sensed if it has a sensed reading, manual if it has only manual
// ones. A rollup bucket of a device with no relayed reading in it is sensed.
import type { InfluxClient } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import { ROLLUP_MEASUREMENT } from '../ingest/rollup-sealing.js';
import { TELEMETRY_MEASUREMENT, pseudonymFor } from '../ingest/sealing.js';
import type { ReadingPresence } from './reading-days.js';

export const MODALITY_TAG = 'modality';
const BUCKET = '15m';

/** Instants at which a patient's devices had readings, per device and modality. */
export interface SensedDaySource {
  presences(patientId: string, from: number, to: number): Promise<ReadingPresence[]>;
  /** Each device's newest minute with a sensed reading before `to` (epoch ms). */
  lastSensed(patientId: string, to: number): Promise<Map<string, number>>;
}

export class InfluxSensedDays implements SensedDaySource {
  constructor(
    private readonly influx: InfluxClient,
    private readonly keyring: Keyring,
  ) {}

  async presences(patientId: string, from: number, to: number): Promise<ReadingPresence[]> {
    const s = pseudonymFor(this.keyring, patientId);
    const range = `time >= ${Math.trunc(from)}ms AND time < ${Math.trunc(to)}ms`;
    const [rollups, relayed] = await Promise.all([
      this.influx.query(
        `SELECT count(o) AS o, count(k) AS k FROM ${ROLLUP_MEASUREMENT} WHERE s = $s AND ${range} GROUP BY time(${BUCKET}), d fill(none)`,
        { s },
      ),
      this.influx.query(
        `SELECT count(k) AS k FROM ${TELEMETRY_MEASUREMENT} WHERE s = $s AND (${MODALITY_TAG} = 'sensed' OR ${MODALITY_TAG} = 'manual') AND ${range} GROUP BY time(${BUCKET}), d, ${MODALITY_TAG} fill(none)`,
        { s },
      ),
    ]);
    const out: ReadingPresence[] = [];
    const relayedBuckets = new Set<string>();
    for (const series of relayed) {
      const deviceId = series.tags.d ?? '';
      const modality = series.tags[MODALITY_TAG] === 'manual' ? 'manual' : 'sensed';
      for (const row of series.rows) {
        if (typeof row.time !== 'number' || !(Number(row.k) > 0)) continue;
        relayedBuckets.add(`${deviceId}\u0000${row.time}`);
        out.push({ at: row.time, deviceId, modality });
      }
    }
    for (const series of rollups) {
      const deviceId = series.tags.d ?? '';
      for (const row of series.rows) {
        if (typeof row.time !== 'number' || !(Number(row.o ?? 0) + Number(row.k ?? 0) > 0)) continue;
        if (!relayedBuckets.has(`${deviceId}\u0000${row.time}`))
          out.push({ at: row.time, deviceId, modality: 'sensed' });
      }
    }
    return out;
  }

  async lastSensed(patientId: string, to: number): Promise<Map<string, number>> {
    const s = pseudonymFor(this.keyring, patientId);
    const before = `time < ${Math.trunc(to)}ms`;
    // The newest rollup point per device, the newest relayed sensed reading per device (key
    // versions only, never a sealed value), and which devices had manual entries.
    const [rollups, relayed, manual] = await Promise.all([
      this.influx.query(
        `SELECT o, k FROM ${ROLLUP_MEASUREMENT} WHERE s = $s AND ${before} GROUP BY d ORDER BY time DESC LIMIT 1`,
        { s },
      ),
      this.influx.query(
        `SELECT k FROM ${TELEMETRY_MEASUREMENT} WHERE s = $s AND ${MODALITY_TAG} = 'sensed' AND ${before} GROUP BY d ORDER BY time DESC LIMIT 1`,
        { s },
      ),
      this.influx.query(
        `SELECT count(k) AS k FROM ${TELEMETRY_MEASUREMENT} WHERE s = $s AND ${MODALITY_TAG} = 'manual' AND ${before} GROUP BY d`,
        { s },
      ),
    ]);
    const out = new Map<string, number>();
    const relayedDevices = new Set(manual.map((m) => m.tags.d ?? ''));
    for (const series of relayed) {
      const at = series.rows[0]?.time;
      if (typeof at === 'number') out.set(series.tags.d ?? '', at);
      relayedDevices.add(series.tags.d ?? '');
    }
    for (const series of rollups) {
      const deviceId = series.tags.d ?? '';
      const at = series.rows[0]?.time;
      // A relayed device's rollups mix manual entries in: its relayed sensed reading decides.
      if (typeof at === 'number' && !relayedDevices.has(deviceId)) out.set(deviceId, at);
    }
    return out;
  }
}
