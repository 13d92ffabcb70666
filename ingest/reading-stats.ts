// Summary statistics of a set of readings of one type: how many readings, and min/max/sum/n of
// each numeric component (the scalar value or the ECG samples, systolic, diastolic). Sums rather
// than means, so statistics of disjoint sets merge exactly: the one-minute rollups written at
// intake and the buckets the API computes from decrypted points are both built from these.

export interface ComponentStat {
  min: number;
  max: number;
  sum: number;
  n: number;
}

export interface ReadingStats {
  /** Readings counted. */
  count: number;
  /** Scalar values and ECG samples. */
  value?: ComponentStat;
  systolic?: ComponentStat;
  diastolic?: ComponentStat;
}

export const STAT_COMPONENTS = ['value', 'systolic', 'diastolic'] as const;
export type StatComponent = (typeof STAT_COMPONENTS)[number];

/** What a mean needs of a component's statistics; sums of disjoint sets merge exactly. */
export type ComponentSum = Pick<ComponentStat, 'sum' | 'n'>;
/** The sums of a set of readings of one type (ReadingStats has them too). */
export type ReadingSums = Partial<Record<StatComponent, ComponentSum>>;

/** Adds `other`'s sums into `into` (fresh objects: `into` never shares `other`'s). */
export function mergeSums(into: ReadingSums, other: Readonly<ReadingSums>): void {
  for (const c of STAT_COMPONENTS) {
    const o = other[c];
    if (!o) continue;
    const s = into[c];
    if (!s) into[c] = { sum: o.sum, n: o.n };
    else {
      s.sum += o.sum;
      s.n += o.n;
    }
  }
}

function addTo(stats: ReadingStats, component: StatComponent, v: number): void {
  const s = stats[component];
  if (!s) {
    stats[component] = { min: v, max: v, sum: v, n: 1 };
    return;
  }
  if (v < s.min) s.min = v;
  if (v > s.max) s.max = v;
  s.sum += v;
  s.n += 1;
}

/** Counts one reading's values (`{value}`, `{systolic, diastolic}`, `{samples}`, `{lat, lon}`). */
export function addReading(stats: ReadingStats, values: Readonly<Record<string, unknown>>): void {
  stats.count += 1;
  if (typeof values.value === 'number') addTo(stats, 'value', values.value);
  if (typeof values.systolic === 'number') addTo(stats, 'systolic', values.systolic);
  if (typeof values.diastolic === 'number') addTo(stats, 'diastolic', values.diastolic);
  if (Array.isArray(values.samples))
    for (const s of values.samples) if (typeof s === 'number') addTo(stats, 'value', s);
}

/** Adds `other` (statistics of a disjoint set of readings) into `into`. */
export function mergeStats(into: ReadingStats, other: Readonly<ReadingStats>): void {
  into.count += other.count;
  for (const c of STAT_COMPONENTS) {
    const o = other[c];
    if (!o) continue;
    const s = into[c];
    if (!s) into[c] = { ...o };
    else {
      if (o.min < s.min) s.min = o.min;
      if (o.max > s.max) s.max = o.max;
      s.sum += o.sum;
      s.n += o.n;
    }
  }
}

/** True when `x` has the shape of ReadingStats (finite numbers, n ≥ 1 per component). */
export function isReadingStats(x: unknown): x is ReadingStats {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  if (!Number.isSafeInteger(r.count) || (r.count as number) < 1) return false;
  for (const c of STAT_COMPONENTS) {
    const s = r[c];
    if (s === undefined) continue;
    if (typeof s !== 'object' || s === null) return false;
    const { min, max, sum, n } = s as Record<string, unknown>;
    if (![min, max, sum].every((v) => typeof v === 'number' && Number.isFinite(v))) return false;
    if (!Number.isSafeInteger(n) || (n as number) < 1) return false;
  }
  return true;
}
