// Downsampling after decryption: InfluxDB holds ciphertext, so min/mean/max buckets are computed
// here, per reading type, over the decrypted values.
import type { ReadingType } from '../../core/domain.js';
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

class Accumulator {
  min = Infinity;
  max = -Infinity;
  sum = 0;
  n = 0;
  add(v: number): void {
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.sum += v;
    this.n += 1;
  }
  stat(): Stat | undefined {
    return this.n === 0 ? undefined : { min: this.min, mean: round(this.sum / this.n), max: this.max };
  }
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

interface BucketState {
  count: number;
  value: Accumulator;
  systolic: Accumulator;
  diastolic: Accumulator;
}

/** Buckets of `resolutionMs` (aligned to the epoch) per type, oldest first; empty buckets are left out. */
export function downsample(
  points: readonly TelemetryPoint[],
  resolutionMs: number,
): Map<ReadingType, Bucket[]> {
  const byType = new Map<ReadingType, Map<number, BucketState>>();
  for (const p of points) {
    let buckets = byType.get(p.type);
    if (!buckets) byType.set(p.type, (buckets = new Map()));
    const start = Math.floor(p.ts / resolutionMs) * resolutionMs;
    let b = buckets.get(start);
    if (!b) {
      b = { count: 0, value: new Accumulator(), systolic: new Accumulator(), diastolic: new Accumulator() };
      buckets.set(start, b);
    }
    b.count += 1;
    const v = p.values;
    if (typeof v.value === 'number') b.value.add(v.value);
    if (typeof v.systolic === 'number') b.systolic.add(v.systolic);
    if (typeof v.diastolic === 'number') b.diastolic.add(v.diastolic);
    if (Array.isArray(v.samples)) for (const s of v.samples as number[]) b.value.add(s);
  }
  const out = new Map<ReadingType, Bucket[]>();
  for (const [type, buckets] of byType) {
    out.set(
      type,
      [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([start, b]) => toBucket(start, b)),
    );
  }
  return out;
}

function toBucket(start: number, b: BucketState): Bucket {
  const bucket: Bucket = { start, count: b.count };
  const value = b.value.stat();
  const systolic = b.systolic.stat();
  const diastolic = b.diastolic.stat();
  if (value) bucket.value = value;
  if (systolic) bucket.systolic = systolic;
  if (diastolic) bucket.diastolic = diastolic;
  return bucket;
}
