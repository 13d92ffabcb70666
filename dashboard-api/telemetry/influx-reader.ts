// The TelemetryReader over InfluxDB: a patient's points are found by their pseudonym tag, and
// each is opened with the patient's data key (ingest/sealing.ts owns the format). Day views and
// raw ranges read the one-minute rollups ingest writes next to the points (ingest/rollup-
// sealing.ts): one sealed point per device and minute, with the minute's statistics and, once
// the minute is closed, its readings. What rollups do not cover is read from the points, in time
// slices, two in flight, so InfluxDB serialises one slice while this process decrypts the one
// before.
import { READING_TYPES, type ReadingType } from '../../core/domain.js';
import type { InfluxClient } from '../../core/influx.js';
import type { Keyring } from '../../core/keyring.js';
import { mergeStats, type ReadingSums } from '../../ingest/reading-stats.js';
import {
  MINUTE_MS,
  ROLLUP_MEASUREMENT,
  inBlocks,
  openRollupBlock,
  openRollupStats,
  rollupMinute,
  type StoredRollup,
} from '../../ingest/rollup-sealing.js';
import { ReadingOpener, TELEMETRY_MEASUREMENT, pseudonymFor, valuesOf } from '../../ingest/sealing.js';
import type { TelemetryPoint, TelemetryQuery, TelemetryReader } from '../ports.js';
import { addPoints, type StatsByType } from './downsample.js';
import { HourRollups } from './hour-rollups.js';
import { OpeningWorker } from './opening-worker.js';

export interface InfluxReaderOptions {
  /** Length of one query slice. Default 3 hours. */
  sliceMs?: number;
  /** Slices in flight at once. Default 2. */
  concurrency?: number;
  /** Rows per chunk InfluxDB streams. Default 10,000. */
  chunkSize?: number;
  /** The first minute covered by rollups (the control plane's `telemetry_minutes_since`); none when absent. */
  rollupsSince?: () => number | undefined;
  /**
   * Runs of minutes not closed that are read from the points one query each, `concurrency` in
   * flight; with more, one pass over the range keeps only their points. Default 256.
   */
  maxPointRuns?: number;
  /** Open large chunks in a worker thread too (default true). */
  worker?: boolean;
  /** The clock that says which hours have ended (hourly rollups are written for those only). */
  now?: () => number;
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
  private readonly maxPointRuns: number;
  private readonly worker: OpeningWorker | undefined;
  private readonly hours: HourRollups;

  constructor(
    private readonly influx: InfluxClient,
    private readonly keyring: Keyring,
    options: InfluxReaderOptions = {},
  ) {
    this.sliceMs = options.sliceMs ?? 3 * 3_600_000;
    this.concurrency = options.concurrency ?? 2;
    this.chunkSize = options.chunkSize ?? 10_000;
    this.maxPointRuns = options.maxPointRuns ?? 256;
    this.since = options.rollupsSince;
    this.worker = options.worker === false ? undefined : new OpeningWorker();
    this.hours = new HourRollups(
      influx,
      keyring,
      {
        rollupRows: (pseudonym, from, to) => this.rollupRows('c', pseudonym, from, to),
        readUnclosed: (pseudonym, query, unclosed) => this.readUnclosed(pseudonym, query, unclosed),
      },
      options.now,
    );
  }

  /** Stops the worker thread. */
  async close(): Promise<void> {
    await this.worker?.close();
  }

  rollupsSince(): number | undefined {
    return this.since?.();
  }

  /** Hourly statistics from the hourly rollups, and from the minutes where those do not stand (hour-rollups.ts). */
  readHourStats(query: TelemetryQuery): Promise<StatsByType> {
    return this.hours.read(query);
  }

  /** Sums per minute from the hourly rollups' minute sums, and from the minutes elsewhere (hour-rollups.ts). */
  readMinuteSums(query: TelemetryQuery): Promise<Map<ReadingType, Map<number, ReadingSums>>> {
    return this.hours.readMinuteSums(query);
  }

  async readMinuteStats(query: TelemetryQuery): Promise<StatsByType> {
    const pseudonym = pseudonymFor(this.keyring, query.patientId);
    const wanted = query.types && query.types.length > 0 ? query.types : READING_TYPES;
    const rows = await this.rollupRows('c', pseudonym, query.from, query.to);
    const unclosed = unclosedMinutes(rows, 'c');
    const byType: StatsByType = new Map();
    // Minutes not closed yet: from their points.
    const opening = this.readUnclosed(pseudonym, { ...query, types: wanted }, unclosed);
    opening.catch(() => {}); // awaited below; not an unhandled rejection if a rollup fails first
    for (const { d, row } of rows) {
      if (typeof row.c !== 'string' || unclosed.has(rollupMinute(row.time as number))) continue;
      const { minute, stats } = openRollupStats(
        this.keyring,
        query.patientId,
        storedRollup(pseudonym, d, row, 'c'),
      );
      for (const type of wanted) {
        const s = stats[type];
        if (!s) continue;
        let byMinute = byType.get(type);
        if (!byMinute) byType.set(type, (byMinute = new Map()));
        const into = byMinute.get(minute);
        if (into) mergeStats(into, s);
        else byMinute.set(minute, s); // freshly parsed: not shared
      }
    }
    addPoints(byType, await opening, MINUTE_MS);
    return byType;
  }

  /**
   * The patient's points in [from, to], oldest first. Minutes from `rollupsSince()` on whose every
   * rollup point has its block come from those blocks (one envelope per device and minute); the
   * rest (older minutes, minutes not closed, ECG waveforms) from the points themselves.
   */
  async read(query: TelemetryQuery): Promise<TelemetryPoint[]> {
    const pseudonym = pseudonymFor(this.keyring, query.patientId);
    const { patientId, from, to } = query;
    const since = this.since?.();
    const wanted = query.types && query.types.length > 0 ? query.types : READING_TYPES;
    const blockTypes = wanted.filter(inBlocks);
    const first = since === undefined ? to + 1 : Math.max(since, Math.floor(from / MINUTE_MS) * MINUTE_MS);
    if (first > to || blockTypes.length === 0)
      return limited(await this.readPoints(pseudonym, query), query.limit);
    // Reads that do not depend on the rollups run meanwhile. Their errors surface below through
    // `fromPoints`; the catch() only keeps them from counting as unhandled if something fails first.
    const parts: Promise<TelemetryPoint[]>[] = [];
    if (from < first) parts.push(this.readPoints(pseudonym, { ...query, to: first - 1 }));
    const others = wanted.filter((t) => !inBlocks(t));
    if (others.length > 0)
      parts.push(this.readPoints(pseudonym, { ...query, from: Math.max(from, first), types: others }));
    for (const part of parts) part.catch(() => {});
    const rows = await this.rollupRows('r', pseudonym, first, to);
    const unclosed = unclosedMinutes(rows, 'r');
    parts.push(
      this.readUnclosed(pseudonym, { ...query, from: Math.max(from, first), types: blockTypes }, unclosed),
    );
    const fromPoints = Promise.all(parts);
    fromPoints.catch(() => {});
    // Closed minutes oldest first. With a limit, once the blocks alone hold that many points, no
    // later minute can be among the oldest `limit`: the rest is not opened.
    const closed = rows
      .filter(({ row }) => typeof row.r === 'string' && !unclosed.has(rollupMinute(row.time as number)))
      .sort((a, b) => (a.row.time as number) - (b.row.time as number));
    const points: TelemetryPoint[] = [];
    let lastMinute = Infinity;
    for (const { d, row } of closed) {
      if (rollupMinute(row.time as number) > lastMinute) break;
      const { minute, block } = openRollupBlock(
        this.keyring,
        patientId,
        storedRollup(pseudonym, d, row, 'r'),
      );
      for (const type of blockTypes) {
        const pairs = block[type];
        if (!pairs) continue;
        for (let i = 0; i < pairs.length; i += 2) {
          const ts = minute + (pairs[i] as number);
          if (ts >= from && ts <= to)
            points.push({ ts, deviceId: d, type, values: valuesOf(type, pairs[i + 1]) });
        }
      }
      if (query.limit !== undefined && points.length >= query.limit)
        lastMinute = Math.min(lastMinute, minute);
    }
    for (const part of await fromPoints) for (const p of part) points.push(p);
    points.sort(byTime);
    return limited(points, query.limit);
  }

  /**
   * The rollup points of minutes starting in [from, to], with `field`, `k` and `o` (so that open
   * points, which have only `o`, are there too).
   */
  private async rollupRows(
    field: 'c' | 'r',
    pseudonym: string,
    from: number,
    to: number,
  ): Promise<RollupRow[]> {
    // A minute's points are up to a minute after its start (the slot). from/to are integers
    // checked by the caller; the pseudonym is a bound parameter.
    const end = (Math.floor(to / MINUTE_MS) + 1) * MINUTE_MS;
    const series = await this.influx.query(
      `SELECT ${field}, k, o FROM ${ROLLUP_MEASUREMENT} WHERE s = $s AND time >= ${Math.trunc(from)}ms AND time < ${end}ms GROUP BY d`,
      { s: pseudonym },
      { epoch: 'u' },
    );
    return series.flatMap((s) => s.rows.map((row) => ({ d: s.tags.d ?? '', row })));
  }

  /**
   * The points of the query's minutes that are in `unclosed`: run by run, or, when the runs are
   * scattered, in one pass over the whole range that keeps only theirs.
   */
  private async readUnclosed(
    pseudonym: string,
    query: TelemetryQuery,
    unclosed: ReadonlySet<number>,
  ): Promise<TelemetryPoint[]> {
    let runs = minuteRuns(unclosed);
    if (runs.length > this.maxPointRuns) runs = [[query.from, query.to]];
    const parts = await mapLimited(runs, this.concurrency, ([a, b]) =>
      this.readPoints(pseudonym, { ...query, from: Math.max(query.from, a), to: Math.min(query.to, b) }),
    );
    return parts.flat().filter((p) => unclosed.has(Math.floor(p.ts / MINUTE_MS) * MINUTE_MS));
  }

  /** The points themselves, in time slices read concurrently. */
  private async readPoints(pseudonym: string, query: TelemetryQuery): Promise<TelemetryPoint[]> {
    const slices: [number, number][] = [];
    for (let start = query.from; start <= query.to; start += this.sliceMs) {
      slices.push([start, Math.min(start + this.sliceMs - 1, query.to)]);
    }
    const results = await mapLimited(slices, this.concurrency, ([from, to]) =>
      this.readSlice(pseudonym, query.patientId, from, to, query.types),
    );
    return results.flat().sort(byTime);
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

interface RollupRow {
  d: string;
  row: Record<string, unknown>;
}

function storedRollup(pseudonym: string, d: string, row: RollupRow['row'], field: 'c' | 'r'): StoredRollup {
  return { time: row.time as number, d, s: pseudonym, sealed: row[field] as string, k: row.k as number };
}

/** Minutes with a rollup point that lacks `field` (not closed, or its block was too large). */
function unclosedMinutes(rows: readonly RollupRow[], field: 'c' | 'r'): Set<number> {
  const minutes = new Set<number>();
  for (const { row } of rows)
    if (typeof row[field] !== 'string') minutes.add(rollupMinute(row.time as number));
  return minutes;
}

/** Runs of consecutive minutes, as inclusive ms ranges. */
function minuteRuns(minutes: Iterable<number>): [number, number][] {
  const runs: [number, number][] = [];
  for (const minute of [...minutes].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && last[1] === minute - 1) last[1] = minute + MINUTE_MS - 1;
    else runs.push([minute, minute + MINUTE_MS - 1]);
  }
  return runs;
}

/** `fn` over `items`, at most `limit` at a time; results in the items' order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return results;
}

/** Oldest first; readings of one millisecond by device, then type, whichever path read them. */
function byTime(a: TelemetryPoint, b: TelemetryPoint): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.deviceId !== b.deviceId) return a.deviceId < b.deviceId ? -1 : 1;
  return a.type === b.type ? 0 : a.type < b.type ? -1 : 1;
}

function limited(points: TelemetryPoint[], limit: number | undefined): TelemetryPoint[] {
  return limit !== undefined && points.length > limit ? points.slice(0, limit) : points;
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
