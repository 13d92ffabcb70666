// Downsampling after decryption: InfluxDB holds ciphertext, so min/mean/max buckets are computed
// here, per reading type, from statistics (ingest/reading-stats.ts) of the decrypted values or of
// the decrypted one-minute rollups, which merge exactly.
import type { ReadingType } from '../../core/domain.js';
import { addReading, mergeStats, STAT_COMPONENTS, type ReadingStats } from '../../ingest/reading-stats.js';
import type { TelemetryPoint } from '../ports.js';

export interface Stat {
  min: number;
  mean: number;
  max: number;
}

export interface Bucket {
  /** Bucket start, epoch ms. */
  start: number;
  count: number;
  /** Scalar types and ECG samples. */
  value?: Stat;
  systolic?: Stat;
  diastolic?: Stat;
}

/** Statistics per type and bucket start (`resolutionMs`, aligned to the epoch). */
export type StatsByType = Map<ReadingType, Map<number, ReadingStats>>;

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function statsAt(byType: StatsByType, type: ReadingType, start: number): ReadingStats {
  let buckets = byType.get(type);
  if (!buckets) byType.set(type, (buckets = new Map()));
  let stats = buckets.get(start);
  if (!stats) buckets.set(start, (stats = { count: 0 }));
  return stats;
}

/** Adds decrypted points into `into`, by type and bucket. */
export function addPoints(into: StatsByType, points: readonly TelemetryPoint[], resolutionMs: number): void {
  for (const p of points)
    addReading(statsAt(into, p.type, Math.floor(p.ts / resolutionMs) * resolutionMs), p.values);
}

/** Adds finer statistics (e.g. one-minute rollups by minute) into `into`'s coarser buckets. */
export function addStats(into: StatsByType, finer: StatsByType, resolutionMs: number): void {
  for (const [type, byStart] of finer)
    for (const [start, stats] of byStart)
      mergeStats(statsAt(into, type, Math.floor(start / resolutionMs) * resolutionMs), stats);
}

/** The bucket a set of statistics describes. */
export function toBucket(start: number, stats: ReadingStats): Bucket {
  const bucket: Bucket = { start, count: stats.count };
  for (const c of STAT_COMPONENTS) {
    const s = stats[c];
    if (s) bucket[c] = { min: s.min, mean: round(s.sum / s.n), max: s.max };
  }
  return bucket;
}

/** Buckets of `resolutionMs` (aligned to the epoch) per type, oldest first; empty buckets are left out. */
export function downsample(
  points: readonly TelemetryPoint[],
  resolutionMs: number,
): Map<ReadingType, Bucket[]> {
  const byType: StatsByType = new Map();
  addPoints(byType, points, resolutionMs);
  const out = new Map<ReadingType, Bucket[]>();
  for (const [type, buckets] of byType) {
    out.set(
      type,
      [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([start, stats]) => toBucket(start, stats)),
    );
  }
  return out;
}
