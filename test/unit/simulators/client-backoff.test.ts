// Reconnect backoff: exponential ceiling with full jitter, capped, reset by a good connect, and
// spread out enough that a fleet does not come back in one stampede.
import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from '../../../simulators/backoff.js';
import { Rng } from '../../../simulators/signals/index.js';

describe('reconnect backoff', () => {
  it('doubles its ceiling per failure up to the cap', () => {
    const backoff = new ReconnectBackoff({ initialMs: 1_000, maxMs: 8_000, floorMs: 0 }, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next())).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    expect(backoff.attempts).toBe(6);
  });

  it('draws each delay between the floor and the ceiling', () => {
    const low = new ReconnectBackoff({ initialMs: 1_000, maxMs: 60_000, floorMs: 100 }, () => 0);
    expect([low.next(), low.next(), low.next()]).toEqual([100, 100, 100]);
    const mid = new ReconnectBackoff({ initialMs: 1_000, maxMs: 60_000, floorMs: 100 }, () => 0.5);
    expect([mid.next(), mid.next()]).toEqual([550, 1_050]);
  });

  it('starts over after a reset', () => {
    const backoff = new ReconnectBackoff({ initialMs: 500, maxMs: 10_000, floorMs: 0 }, () => 1);
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.attempts).toBe(0);
    expect(backoff.next()).toBe(500);
  });

  it('spreads a thousand devices over the window instead of one instant', () => {
    const rng = new Rng(42);
    const delays = Array.from({ length: 1_000 }, () => {
      const b = new ReconnectBackoff({ initialMs: 1_000, maxMs: 60_000 }, () => rng.next());
      b.next();
      b.next();
      return b.next(); // the third attempt: ceiling 4 s
    });
    const perSecond = new Map<number, number>();
    for (const d of delays)
      perSecond.set(Math.floor(d / 1_000), (perSecond.get(Math.floor(d / 1_000)) ?? 0) + 1);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4_000);
    expect(perSecond.size).toBe(4);
    for (const n of perSecond.values()) expect(n).toBeLessThan(320); // about 250 in each second
  });

  it('refuses a policy that cannot work', () => {
    expect(() => new ReconnectBackoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new ReconnectBackoff({ initialMs: 5_000, maxMs: 1_000 })).toThrow(RangeError);
  });
});
