// Seeded randomness for the signal models. Two flavours, both reproducible from a seed:
// - `Rng`: a sequential generator (mulberry32), for drawing a patient's baseline once.
// - `uniformAt` / `normalAt` / `smoothNoise`: random access by key (a time, a day, a slot), so a
//   signal is a pure function of simulated time and does not depend on how often it is sampled.

const TWO_POW_32 = 4_294_967_296;

/** murmur3's 32-bit finaliser: a good avalanche on one 32-bit word. */
function fmix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function absorb(state: number, key: number): number {
  const n = Math.floor(key);
  const lo = n >>> 0;
  const hi = Math.floor(n / TWO_POW_32) >>> 0;
  let h = fmix32(state ^ Math.imul(lo, 0xcc9e2d51));
  h = fmix32((h + Math.imul(hi ^ 0x5bd1e995, 0x1b873593)) >>> 0);
  return h;
}

/** Hashes up to four integer keys (any safe integer, negative included) into 32 bits. */
export function hash32(a: number, b: number, c = 0, d = 0): number {
  let h = 0x9e3779b9;
  h = absorb(h, a);
  h = absorb(h, b);
  h = absorb(h, c);
  h = absorb(h, d);
  return h;
}

/** Hashes a string (UTF-16 code units) into 32 bits (FNV-1a, then finalised). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** A fleet seed may be given as a number or as any string (a CLI flag, a run name). */
export function seedOf(seed: number | string): number {
  if (typeof seed === 'string') return hashString(seed);
  if (!Number.isFinite(seed)) throw new RangeError('seed must be a finite number or a string');
  return hash32(Math.floor(seed), Math.round((seed % 1) * 1e9));
}

/** The seed of one device in a fleet: different devices get unrelated series. */
export function deviceSeed(fleetSeed: number | string, deviceId: string): number {
  return hash32(seedOf(fleetSeed), hashString(deviceId), 0x64657669);
}

/** A named stream, so that different signals drawn from one seed do not correlate. */
export function stream(name: string): number {
  return hashString(name);
}

/** Uniform in [0, 1) for (seed, stream, key, sub). */
export function uniformAt(seed: number, streamId: number, key: number, sub = 0): number {
  return hash32(seed, streamId, key, sub) / TWO_POW_32;
}

/** Standard normal for (seed, stream, key), clipped to ±`clip` standard deviations. */
export function normalAt(seed: number, streamId: number, key: number, clip = 3): number {
  const u1 = (hash32(seed, streamId, key, 1) + 1) / (TWO_POW_32 + 1);
  const u2 = hash32(seed, streamId, key, 2) / TWO_POW_32;
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.max(-clip, Math.min(clip, z));
}

/**
 * Smooth noise of time: standard-normal knots every `periodMs`, cosine-interpolated in
 * between. Values stay within ±3 and change on the scale of `periodMs`.
 */
export function smoothNoise(seed: number, streamId: number, t: number, periodMs: number): number {
  const x = t / periodMs;
  const k = Math.floor(x);
  const f = x - k;
  const a = normalAt(seed, streamId, k);
  const b = normalAt(seed, streamId, k + 1);
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  return a + (b - a) * w;
}

/** A small sequential PRNG (mulberry32) with the usual draws. */
export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = fmix32(seed ^ 0x6d2b79f5) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / TWO_POW_32;
  }

  uniform(min = 0, max = 1): number {
    return min + (max - min) * this.next();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return Math.floor(this.uniform(min, max + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** Normal (Box-Muller), optionally clipped to ±`clip` standard deviations. */
  normal(mean = 0, sd = 1, clip = Infinity): number {
    let z: number;
    if (this.spare !== undefined) {
      z = this.spare;
      this.spare = undefined;
    } else {
      const u1 = 1 - this.next();
      const u2 = this.next();
      const r = Math.sqrt(-2 * Math.log(u1));
      z = r * Math.cos(2 * Math.PI * u2);
      this.spare = r * Math.sin(2 * Math.PI * u2);
    }
    return mean + sd * Math.max(-clip, Math.min(clip, z));
  }
}
