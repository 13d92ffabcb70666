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
import { ReadingOpener, TELEMETRY_MEASUREMENT, pseudonymFor, valuesOf } from '../../ingest/sealing.js';
import type { TelemetryPoint, TelemetryQuery, TelemetryReader } from '../ports.js';
import { OpeningWorker } from './opening-worker.js';

export interface InfluxReaderOptions {
  /** Length of one query slice. Default 3 hours. */
  sliceMs?: number;
  /** Slices in flight at once. Default 2. */
  concurrency?: number;
  /** Rows per chunk InfluxDB streams. Default 10,000. */
  chunkSize?: number;
  /** The first minute covered by rollups (the control plane's `telemetry_rollups_since`); none when absent. */
  rollupsSince?: () => number | undefined;
  /** Open large chunks in a worker thread too (default true). */
  worker?: boolean;
}

/** Chunks smaller than this are opened in this thread. */
const MIN_WORKER_ROWS = 1000;
/** The part of a large chunk the worker opens (it only opens; this thread also reads and parses). */
const WORKER_SHARE = 0.7;

export class InfluxTelemetryReader implements TelemetryReader {
  private readonly sliceMs: number;
  private readonly concurrency: number;
  private readonly chunkSize: number;
  private readonly since: (() => number | undefined) | undefined;
  private readonly worker: OpeningWorker | undefined;

  constructor(
    private readonly influx: InfluxClient,
    private readonly keyring: Keyring,
    options: InfluxReaderOptions = {},
  ) {
    this.sliceMs = options.sliceMs ?? 3 * 3_600_000;
    this.concurrency = options.concurrency ?? 2;
    this.chunkSize = options.chunkSize ?? 10_000;
    this.since = options.rollupsSince;
    this.worker = options.worker === false ? undefined : new OpeningWorker();
  }

  /** Stops the worker thread. */
  async close(): Promise<void> {
    await this.worker?.close();
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
    const parts: (TelemetryPoint[] | Promise<TelemetryPoint[]>)[] = [];
    // Each chunk is opened as it arrives, while InfluxDB serialises the next: by the worker
    // thread when it is not busy, else here.
    await this.influx.queryStream(
      `SELECT c, k FROM ${TELEMETRY_MEASUREMENT} WHERE s = $s${filter} AND time >= ${Math.trunc(from)}ms AND time < ${Math.trunc(to) + 1}ms GROUP BY d, t`,
      params,
      { epoch: 'ms', chunkSize: this.chunkSize },
      (series) => {
        const d = series.tags.d ?? '';
        const t = series.tags.t ?? '';
        const time = series.columns.indexOf('time');
        const c = series.columns.indexOf('c');
        const k = series.columns.indexOf('k');
        const rows = series.values;
        // The first part of a large chunk goes to the worker while this thread opens the rest.
        const version = rows[0]?.[k];
        let split = 0;
        if (
          this.worker &&
          this.worker.pending < 2 &&
          rows.length >= MIN_WORKER_ROWS &&
          typeof version === 'number' &&
          rows.every((row) => row[k] === version)
        ) {
          split = Math.floor(rows.length * WORKER_SHARE);
          const head = rows.slice(0, split);
          const job = this.worker
            .open(
              opener.keyCopy(version),
              opener.aadPrefix(d, t),
              head.map((row) => row[c] as string),
              head.map((row) => row[time] as number),
            )
            .then((values) =>
              values.map((v, i) => ({
                ts: head[i]![time] as number,
                deviceId: d,
                type: t as ReadingType,
                values: valuesOf(t, v),
              })),
            );
          job.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
          parts.push(job);
        }
        const open = opener.series(d, t);
        const out: TelemetryPoint[] = new Array(rows.length - split);
        for (let i = split; i < rows.length; i++) {
          const row = rows[i]!;
          out[i - split] = open(row[c] as string, row[k] as number, row[time] as number);
        }
        parts.push(out);
      },
    );
    return (await Promise.all(parts)).flat();
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
