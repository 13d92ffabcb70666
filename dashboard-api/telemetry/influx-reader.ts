// The TelemetryReader over InfluxDB: a patient's points are found by their pseudonym tag, and
// each is opened with the patient's data key (ingest/sealing.ts owns the format). Long ranges
// are read in time slices, two in flight, so InfluxDB serialises one slice while this process
// decrypts the one before.
import type { ReadingType } from '../../core/domain.js';
import type { InfluxClient } from '../../core/influx.js';
import type { Keyring } from '../../core/keyring.js';
import { TELEMETRY_MEASUREMENT, openReading, pseudonymFor } from '../../ingest/sealing.js';
import type { TelemetryPoint, TelemetryQuery, TelemetryReader } from '../ports.js';

export interface InfluxReaderOptions {
  /** Length of one query slice. Default 3 hours. */
  sliceMs?: number;
  /** Slices in flight at once. Default 2. */
  concurrency?: number;
}

export class InfluxTelemetryReader implements TelemetryReader {
  private readonly sliceMs: number;
  private readonly concurrency: number;

  constructor(
    private readonly influx: InfluxClient,
    private readonly keyring: Keyring,
    options: InfluxReaderOptions = {},
  ) {
    this.sliceMs = options.sliceMs ?? 3 * 3_600_000;
    this.concurrency = options.concurrency ?? 2;
  }

  async read(query: TelemetryQuery): Promise<TelemetryPoint[]> {
    const pseudonym = pseudonymFor(this.keyring, query.patientId);
    const slices: [number, number][] = [];
    for (let start = query.from; start <= query.to; start += this.sliceMs) {
      slices.push([start, Math.min(start + this.sliceMs - 1, query.to)]);
    }
    const results: TelemetryPoint[][] = new Array(slices.length);
    let next = 0;
    const worker = async () => {
      while (next < slices.length) {
        const i = next++;
        const [from, to] = slices[i]!;
        results[i] = await this.readSlice(pseudonym, query.patientId, from, to, query.types);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, slices.length) }, worker));
    const points = results.flat();
    points.sort((a, b) => a.ts - b.ts);
    return query.limit !== undefined && points.length > query.limit ? points.slice(0, query.limit) : points;
  }

  private async readSlice(
    pseudonym: string,
    patientId: string,
    from: number,
    to: number,
    types: readonly ReadingType[] | undefined,
  ): Promise<TelemetryPoint[]> {
    const params: Record<string, string> = { s: pseudonym };
    let typeFilter = '';
    if (types && types.length > 0) {
      typeFilter = ` AND (${types.map((_, i) => `t = $t${i}`).join(' OR ')})`;
      types.forEach((t, i) => (params[`t${i}`] = t));
    }
    // from/to are integers checked by the caller; everything else is a bound parameter.
    const series = await this.influx.query(
      `SELECT c, k FROM ${TELEMETRY_MEASUREMENT} WHERE s = $s${typeFilter} AND time >= ${Math.trunc(from)}ms AND time < ${Math.trunc(to) + 1}ms GROUP BY d, t`,
      params,
      { epoch: 'ms' },
    );
    const out: TelemetryPoint[] = [];
    for (const s of series) {
      const d = s.tags.d ?? '';
      const t = s.tags.t ?? '';
      for (const row of s.rows) {
        const opened = openReading(this.keyring, patientId, {
          time: row.time as number,
          d,
          s: pseudonym,
          t,
          c: row.c as string,
          k: row.k as number,
        });
        const {
          type,
          ts: _ts,
          ...values
        } = opened.reading as unknown as Record<string, unknown> & {
          type: ReadingType;
          ts: number;
        };
        out.push({ ts: opened.ts, deviceId: opened.deviceId, type, values });
      }
    }
    return out;
  }
}
