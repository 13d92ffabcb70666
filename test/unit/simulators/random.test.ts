import { describe, expect, it } from 'vitest';
import {
  Rng,
  deviceSeed,
  hash32,
  normalAt,
  seedOf,
  smoothNoise,
  stream,
  uniformAt,
} from '../../../simulators/signals/random.js';
import { mean } from './support.js';

describe('Rng', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const draw = (seed: number): number[] => {
      const rng = new Rng(seed);
      return Array.from({ length: 20 }, () => rng.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('draws uniform and normal values with the right moments', () => {
    const rng = new Rng(123);
    const uniform = Array.from({ length: 20_000 }, () => rng.uniform(10, 20));
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...uniform)).toBeLessThan(20);
    expect(mean(uniform)).toBeCloseTo(15, 0);
    const normal = Array.from({ length: 20_000 }, () => rng.normal(5, 2));
    const m = mean(normal);
    const sd = Math.sqrt(mean(normal.map((v) => (v - m) ** 2)));
    expect(m).toBeCloseTo(5, 1);
    expect(sd).toBeGreaterThan(1.9);
    expect(sd).toBeLessThan(2.1);
    const clipped = Array.from({ length: 5000 }, () => rng.normal(0, 1, 2));
    expect(Math.max(...clipped.map(Math.abs))).toBeLessThanOrEqual(2);
    const ints = Array.from({ length: 1000 }, () => rng.int(1, 3));
    expect(new Set(ints)).toEqual(new Set([1, 2, 3]));
  });
});

describe('seeds and random access', () => {
  it('derives a per-device seed from the fleet seed and device id', () => {
    expect(deviceSeed(1, 'wearable-0001')).toBe(deviceSeed(1, 'wearable-0001'));
    expect(deviceSeed(1, 'wearable-0001')).not.toBe(deviceSeed(1, 'wearable-0002'));
    expect(deviceSeed(1, 'wearable-0001')).not.toBe(deviceSeed(2, 'wearable-0001'));
    expect(deviceSeed('demo', 'x')).toBe(deviceSeed('demo', 'x'));
    expect(seedOf(1.5)).not.toBe(seedOf(1));
    expect(() => seedOf(Number.NaN)).toThrow(RangeError);
  });

  it('hashes keys beyond 32 bits and negative keys apart', () => {
    const t = Date.UTC(2026, 0, 1);
    expect(hash32(1, t)).not.toBe(hash32(1, t + 2 ** 32));
    expect(hash32(1, -1)).not.toBe(hash32(1, 1));
  });

  it('gives keyed uniform and normal values, and smooth noise that is continuous', () => {
    const s = stream('test');
    const u = Array.from({ length: 10_000 }, (_, k) => uniformAt(9, s, k));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(mean(u)).toBeCloseTo(0.5, 1);
    const z = Array.from({ length: 10_000 }, (_, k) => normalAt(9, s, k));
    expect(mean(z)).toBeCloseTo(0, 1);
    expect(Math.max(...z.map(Math.abs))).toBeLessThanOrEqual(3);
    let largestStep = 0;
    for (let t = 0; t < 600_000; t += 1000) {
      largestStep = Math.max(
        largestStep,
        Math.abs(smoothNoise(9, s, t + 1000, 60_000) - smoothNoise(9, s, t, 60_000)),
      );
    }
    expect(largestStep).toBeLessThan(0.4);
  });
});
