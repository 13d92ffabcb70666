// Decrypted telemetry for the API: raw ranges, downsampled views, and a cache of closed
// downsampled buckets. Values are encrypted in InfluxDB; a view at a resolution of whole minutes
// is built from the sealed one-minute rollups ingest writes (one per device and minute), and
// only what they do not cover (minutes before rollups existed, minutes not closed, partial
// minutes at the edges) from decrypted points. After that, only buckets that are still open (or that a late,
// store-and-forward reading touched, as the live feed reports) are read again.
// A bucket is cached only once it closed more than SETTLE_MS ago and no reading for it arrived
// within SETTLE_MS (the live feed fires at intake, before the writer stores the point), and an
// entry lives at most ENTRY_TTL_MS. The cache lives in this process only, is bounded, and is
// dropped for an erased patient.
import { READING_TYPES, type ReadingType } from '../../core/domain.js';
import type { LiveEvent, LiveFeed, TelemetryPoint, TelemetryReader } from '../ports.js';
import { MINUTE_MS } from '../../ingest/rollup-sealing.js';
import { addPoints, addStats, toBucket, type Bucket, type StatsByType } from './downsample.js';

const MAX_CACHED_SERIES = 512;
const MAX_BUCKETS_PER_SERIES = 50_000;
const SETTLE_MS = 2 * 60_000;
const ENTRY_TTL_MS = 10 * 60_000;

interface SeriesCache {
  createdAt: number;
  /** Closed buckets by start; a cached start with no data maps to null. */
  buckets: Map<number, Bucket | null>;
}

export class TelemetryService {
  private readonly cache = new Map<string, SeriesCache>();
  /** The resolutions cached per patient and type, so a reading touches only its own series. */
  private readonly resolutions = new Map<string, Set<number>>();
  /** Readings seen on the live feed in the last SETTLE_MS, per patient and type: [ts, seenAt]. */
  private readonly recent = new Map<string, [number, number][]>();

  constructor(
    private readonly reader: TelemetryReader,
    private readonly live: LiveFeed,
    private readonly now: () => number,
  ) {
    live.subscribe((event) => {
      if (event.kind === 'reading' && event.patientId) this.invalidate(event.patientId, event.point);
    });
  }

  /** New readings and alert changes, for live streams. */
  subscribe(listener: (event: LiveEvent) => void): () => void {
    return this.live.subscribe(listener);
  }

  raw(patientId: string, from: number, to: number, types: readonly ReadingType[] | undefined, limit: number) {
    return this.reader.read({ patientId, from, to, types, limit });
  }

  /**
   * How many readings of `types` the patient has in [from, to]: the counts of hourly statistics,
   * so closed hours come from the cache and rollups rather than from every point.
   */
  async count(patientId: string, from: number, to: number, types: readonly ReadingType[]): Promise<number> {
    let n = 0;
    for (const buckets of (await this.downsampled(patientId, from, to, types, COUNT_RESOLUTION_MS)).values())
      for (const b of buckets) n += b.count;
    return n;
  }

  /** Buckets per type for [from, to]; closed buckets come from the cache when they can. */
  async downsampled(
    patientId: string,
    from: number,
    to: number,
    types: readonly ReadingType[] | undefined,
    resolutionMs: number,
  ): Promise<Map<ReadingType, Bucket[]>> {
    const wanted = types && types.length > 0 ? types : READING_TYPES.filter((t) => t !== 'location');
    const first = Math.floor(from / resolutionMs) * resolutionMs;
    const now = this.now();
    const closedBefore = Math.floor(now / resolutionMs) * resolutionMs;
    const settledBefore = Math.floor((now - SETTLE_MS) / resolutionMs) * resolutionMs;
    const starts: number[] = [];
    for (let s = first; s <= to; s += resolutionMs) starts.push(s);
    const cacheable = starts.length <= MAX_BUCKETS_PER_SERIES;
    // Buckets some wanted type lacks (not cached, or not closed yet), read as contiguous runs.
    const missing = new Set<number>();
    for (const type of wanted) {
      const cached = cacheable ? this.lookup(key(patientId, type, resolutionMs), now) : undefined;
      for (const s of starts) if (s >= closedBefore || !cached?.buckets.has(s)) missing.add(s);
    }
    const runs: [number, number][] = [];
    for (const s of starts) {
      if (!missing.has(s)) continue;
      const last = runs[runs.length - 1];
      if (last && last[1] === s - 1) last[1] = s + resolutionMs - 1;
      else runs.push([s, s + resolutionMs - 1]);
    }
    const fresh: StatsByType = new Map();
    await Promise.all(
      runs.map(([a, b]) =>
        this.readStats(fresh, patientId, Math.max(from, a), Math.min(to, b), wanted, resolutionMs),
      ),
    );
    const out = new Map<ReadingType, Bucket[]>();
    for (const type of wanted) {
      const k = key(patientId, type, resolutionMs);
      const cached = (cacheable && this.lookup(k, now)) || { createdAt: now, buckets: new Map() };
      const touched = this.recentTouches(patientId, type, now);
      const freshByStart = fresh.get(type);
      const series: Bucket[] = [];
      for (const s of starts) {
        const stats = freshByStart?.get(s);
        const bucket = missing.has(s) ? (stats ? toBucket(s, stats) : null) : cached.buckets.get(s);
        if (bucket) series.push(bucket);
        // A bucket is cached once it settled, nothing arrived for it lately, and all of it was read.
        const settled = s < settledBefore && !touched.some((ts) => ts >= s && ts < s + resolutionMs);
        if (cacheable && settled && s >= from && s + resolutionMs - 1 <= to)
          cached.buckets.set(s, bucket ?? null);
      }
      if (cacheable) this.remember(k, cached);
      if (series.length > 0) out.set(type, series);
    }
    return out;
  }

  /**
   * Adds the statistics of [from, to] into `into`: whole minutes the store has rollups for come
   * from those, the rest (older than the rollups, partial minutes at the edges, resolutions
   * that are not whole minutes) from the decrypted points.
   */
  private async readStats(
    into: StatsByType,
    patientId: string,
    from: number,
    to: number,
    types: readonly ReadingType[],
    resolutionMs: number,
  ): Promise<void> {
    const since = this.reader.rollupsSince?.();
    const raw: [number, number][] = [];
    if (since !== undefined && this.reader.readMinuteStats && resolutionMs % MINUTE_MS === 0) {
      const first = Math.max(since, Math.ceil(from / MINUTE_MS) * MINUTE_MS);
      const end = Math.floor((to + 1) / MINUTE_MS) * MINUTE_MS;
      if (first < end) {
        if (from < first) raw.push([from, first - 1]);
        if (end <= to) raw.push([end, to]);
        // Whole hours from the hourly rollups when the buckets are whole hours; the minutes
        // at either side from the minute rollups.
        const minuteRuns: [number, number][] = [[first, end - 1]];
        const stats: Promise<StatsByType>[] = [];
        const hourFirst = Math.ceil(first / HOUR_MS) * HOUR_MS;
        const hourEnd = Math.floor(end / HOUR_MS) * HOUR_MS;
        if (this.reader.readHourStats && resolutionMs % HOUR_MS === 0 && hourFirst < hourEnd) {
          minuteRuns.splice(0, 1, [first, hourFirst - 1], [hourEnd, end - 1]);
          stats.push(this.reader.readHourStats({ patientId, from: hourFirst, to: hourEnd - 1, types }));
        }
        for (const [a, b] of minuteRuns)
          if (a <= b) stats.push(this.reader.readMinuteStats({ patientId, from: a, to: b, types }));
        const [read] = await Promise.all([
          Promise.all(stats),
          ...raw.map(([a, b]) => this.readPoints(into, patientId, a, b, types, resolutionMs)),
        ]);
        for (const s of read) addStats(into, s, resolutionMs);
        return;
      }
    }
    await this.readPoints(into, patientId, from, to, types, resolutionMs);
  }

  private async readPoints(
    into: StatsByType,
    patientId: string,
    from: number,
    to: number,
    types: readonly ReadingType[],
    resolutionMs: number,
  ): Promise<void> {
    addPoints(into, await this.reader.read({ patientId, from, to, types }), resolutionMs);
  }

  /** Drops every cached view of a patient (erasure). */
  forget(patientId: string): void {
    for (const k of [...this.cache.keys()]) if (k.startsWith(`${patientId}|`)) this.drop(k);
  }

  private lookup(k: string, now: number): SeriesCache | undefined {
    const entry = this.cache.get(k);
    if (entry && now - entry.createdAt > ENTRY_TTL_MS) {
      this.drop(k);
      return undefined;
    }
    return entry;
  }

  private drop(k: string): void {
    this.cache.delete(k);
    const [series, resolutionMs] = seriesOf(k);
    const cached = this.resolutions.get(series);
    cached?.delete(resolutionMs);
    if (cached?.size === 0) this.resolutions.delete(series);
  }

  private recentTouches(patientId: string, type: ReadingType, now: number): number[] {
    const list = this.recent.get(`${patientId}|${type}`);
    if (!list) return [];
    const live = list.filter(([, seenAt]) => now - seenAt < SETTLE_MS);
    if (live.length === 0) this.recent.delete(`${patientId}|${type}`);
    else if (live.length !== list.length) this.recent.set(`${patientId}|${type}`, live);
    return live.map(([ts]) => ts);
  }

  private remember(k: string, entry: SeriesCache): void {
    this.cache.delete(k);
    this.cache.set(k, entry);
    const [series, resolutionMs] = seriesOf(k);
    let cached = this.resolutions.get(series);
    if (!cached) this.resolutions.set(series, (cached = new Set()));
    cached.add(resolutionMs);
    while (this.cache.size > MAX_CACHED_SERIES) this.drop(this.cache.keys().next().value!);
  }

  /** A new reading invalidates the cached bucket it falls into, at every resolution. */
  private invalidate(patientId: string, point: TelemetryPoint): void {
    const now = this.now();
    // On-time readings land in buckets that have not settled; only late ones are remembered.
    if (now - point.ts > resolutionFloor) {
      const k = `${patientId}|${point.type}`;
      const list = this.recent.get(k) ?? [];
      if (list.length < 10_000) list.push([point.ts, now]);
      this.recent.set(k, list);
    }
    for (const resolutionMs of this.resolutions.get(`${patientId}|${point.type}`) ?? [])
      this.cache
        .get(key(patientId, point.type, resolutionMs))
        ?.buckets.delete(Math.floor(point.ts / resolutionMs) * resolutionMs);
  }
}

const HOUR_MS = 3_600_000;
/** Statistics read to count matches (FHIR `total`). */
const COUNT_RESOLUTION_MS = HOUR_MS;

/** Readings older than this on arrival are late (store-and-forward). */
const resolutionFloor = 60_000;

function key(patientId: string, type: ReadingType, resolutionMs: number): string {
  return `${patientId}|${type}|${resolutionMs}`;
}

/** A cache key's series (`patient|type`) and resolution. */
function seriesOf(k: string): [string, number] {
  const at = k.lastIndexOf('|');
  return [k.slice(0, at), Number(k.slice(at + 1))];
}
