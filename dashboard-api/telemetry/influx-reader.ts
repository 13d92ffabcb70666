// The TelemetryReader over InfluxDB: a patient's points are found by their pseudonym tag, and
// each is opened with the patient's data key (ingest/sealing.ts owns the format). Long ranges
// are read in time slices, two in flight, so InfluxDB serialises one slice while this process
// decrypts the one before. Day views read the one-minute rollups ingest writes next to the points
// (ingest/rollup-sealing.ts), one small sealed point per device, type and minute.
import type { ReadingType } from '../../core/domain.js';
import type { InfluxClient } from '../../core/influx.js';
import type { Keyring } from '../../core/keyring.js';
import { mergeStats, type ReadingStats } from '../../ingest/reading-stats.js';
import { ROLLUP_MEASUREMENT, openRollup } from '../../ingest/rollup-sealing.js';
import { ReadingOpener, TELEMETRY_MEASUREMENT, pseudonymFor } from '../../ingest/sealing.js';
import type { TelemetryPoint, TelemetryQuery, TelemetryReader } from '../ports.js';

export interface InfluxReaderOptions {
  /** Length of one query slice. Default 3 hours. */
  sliceMs?: number;
  /** Slices in flight at once. Default 2. */
  concurrency?: number;
  /** Rows per chunk InfluxDB streams. Default 5000. */
  chunkSize?: number;
  /** The first minute covered by rollups (the control plane's `telemetry_rollups_since`); none when absent. */
  rollupsSince?: () => number | undefined;
}

export class InfluxTelemetryReader implements TelemetryReader {
  private readonly sliceMs: number;
  private readonly concurrency: number;
  private readonly chunkSize: number;
  private readonly since: (() => number | undefined) | undefined;

  constructor(
    private readonly influx: InfluxClient,
    private readonly keyring: Keyring,
    options: InfluxReaderOptions = {},
  ) {
    this.sliceMs = options.sliceMs ?? 3 * 3_600_000;
    this.concurrency = options.concurrency ?? 2;
    this.chunkSize = options.chunkSize ?? 5000;
    this.since = options.rollupsSince;
  }

  rollupsSince(): number | undefined {
    return this.since?.();
  }

  async readMinuteStats(query: TelemetryQuery): Promise<Map<ReadingType, Map<number, ReadingStats>>> {
    const pseudonym = pseudonymFor(this.keyring, query.patientId);
    const { filter, params } = typeFilter(pseudonym, query.types);
    // from/to are integers checked by the caller; everything else is a bound parameter.
    const series = await this.influx.query(
      `SELECT c, k FROM ${ROLLUP_MEASUREMENT} WHERE s = $s${filter} AND time >= ${Math.trunc(query.from)}ms AND time < ${Math.trunc(query.to) + 1}ms GROUP BY d, t`,
      params,
      { epoch: 'u' },
    );
    const out = new Map<ReadingType, Map<number, ReadingStats>>();
    for (const s of series) {
      const d = s.tags.d ?? '';
      const t = s.tags.t ?? '';
      let byMinute = out.get(t as ReadingType);
      if (!byMinute) out.set(t as ReadingType, (byMinute = new Map()));
      for (const row of s.rows) {
        const { minute, stats } = openRollup(this.keyring, query.patientId, {
          time: row.time as number,
          d,
          s: pseudonym,
          t,
          c: row.c as string,
          k: row.k as number,
        });
        const into = byMinute.get(minute);
        if (into) mergeStats(into, stats);
        else byMinute.set(minute, stats);
      }
    }
    return out;
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
    const { filter, params } = typeFilter(pseudonym, types);
    // from/to are integers checked by the caller; everything else is a bound parameter.
    const opener = new ReadingOpener(this.keyring, patientId, pseudonym);
    const out: TelemetryPoint[] = [];
    // Each chunk is opened as it arrives, while InfluxDB serialises the next.
    await this.influx.queryStream(
      `SELECT c, k FROM ${TELEMETRY_MEASUREMENT} WHERE s = $s${filter} AND time >= ${Math.trunc(from)}ms AND time < ${Math.trunc(to) + 1}ms GROUP BY d, t`,
      params,
      { epoch: 'ms', chunkSize: this.chunkSize },
      (series) => {
        const open = opener.series(series.tags.d ?? '', series.tags.t ?? '');
        const time = series.columns.indexOf('time');
        const c = series.columns.indexOf('c');
        const k = series.columns.indexOf('k');
        for (const row of series.values)
          out.push(open(row[c] as string, row[k] as number, row[time] as number));
      },
    );
    return out;
  }
}

/** `AND (t = $t0 OR …)` with its bound parameters, and the pseudonym as `$s`. */
function typeFilter(
  pseudonym: string,
  types: readonly ReadingType[] | undefined,
): { filter: string; params: Record<string, string> } {
  const params: Record<string, string> = { s: pseudonym };
  if (!types || types.length === 0) return { filter: '', params };
  types.forEach((t, i) => (params[`t${i}`] = t));
  return { filter: ` AND (${types.map((_, i) => `t = $t${i}`).join(' OR ')})`, params };
}
