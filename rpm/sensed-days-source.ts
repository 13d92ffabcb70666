// Where days of data come from: the one-minute rollups ingest writes to InfluxDB
// (`telemetry_minutes`, ingest/rollup-sealing.ts), never readings opened from storage. Only the
// points' times, their device tag and their modality tag are read: each rollup point says "this
// device had readings in this minute", which is all day counting needs, and nothing is decrypted.
// A point has `o` (its open line), `k` (its final line), or both, so both are counted.
// The query counts points per device, modality and UTC-aligned 15-minute bucket (every time
// zone's offset is a multiple of 15 minutes, so a bucket lies within one local date), which keeps
// a 1 Hz device's month to 2,880 rows instead of 43,200.
//
// Modality: gateways (issue #24) mark a reading `sensed` or `manual`. A rollup point without the
// tag is `sensed` (devices that speak MQTT themselves transmit on their own). If the tag lands
// under another name, change ROLLUP_MODALITY_TAG.
import type { InfluxClient } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import { ROLLUP_MEASUREMENT } from '../ingest/rollup-sealing.js';
import { pseudonymFor } from '../ingest/sealing.js';
import type { Modality, ReadingPresence } from './reading-days.js';

export const ROLLUP_MODALITY_TAG = 'modality';
const BUCKET = '15m';

/** Instants at which a patient's devices had readings, per device and modality. */
export interface SensedDaySource {
  presences(patientId: string, from: number, to: number): Promise<ReadingPresence[]>;
}

export class InfluxSensedDays implements SensedDaySource {
  constructor(
    private readonly influx: InfluxClient,
    private readonly keyring: Keyring,
  ) {}

  async presences(patientId: string, from: number, to: number): Promise<ReadingPresence[]> {
    const series = await this.influx.query(
      `SELECT count(o) AS o, count(k) AS k FROM ${ROLLUP_MEASUREMENT} WHERE s = $s AND time >= ${Math.trunc(from)}ms AND time < ${Math.trunc(to)}ms GROUP BY time(${BUCKET}), d, "${ROLLUP_MODALITY_TAG}" fill(none)`,
      { s: pseudonymFor(this.keyring, patientId) },
    );
    const out: ReadingPresence[] = [];
    for (const s of series) {
      const modality: Modality = s.tags[ROLLUP_MODALITY_TAG] === 'manual' ? 'manual' : 'sensed';
      const deviceId = s.tags.d ?? '';
      for (const row of s.rows) {
        const points = (typeof row.o === 'number' ? row.o : 0) + (typeof row.k === 'number' ? row.k : 0);
        if (typeof row.time === 'number' && points > 0) out.push({ at: row.time, deviceId, modality });
      }
    }
    return out;
  }
}
