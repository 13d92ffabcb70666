// Token buckets, the per-source connection limiter and the MQTT packet-size guard.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guardPacketSize, SourceRateLimiter, TokenBucket } from '../../../broker/limits.js';

describe('TokenBucket', () => {
  it('allows the burst at once, then refills at the rate', () => {
    const bucket = new TokenBucket(10, 20, 0);
    for (let i = 0; i < 20; i++) expect(bucket.take(1, 0)).toBe(true);
    expect(bucket.take(1, 0)).toBe(false);
    expect(bucket.take(1, 50)).toBe(false); // half a token
    expect(bucket.take(1, 100)).toBe(true);
    expect(bucket.take(5, 600)).toBe(true);
    expect(bucket.take(1, 600)).toBe(false);
  });

  it('never holds more than the burst, and counts amounts (bytes)', () => {
    const bucket = new TokenBucket(1000, 2000, 0);
    expect(bucket.take(1500, 60_000)).toBe(true);
    expect(bucket.take(600, 60_000)).toBe(false);
    expect(bucket.take(500, 60_000)).toBe(true);
  });
});

describe('SourceRateLimiter', () => {
  it('limits connection attempts per source address, not globally', () => {
    const limiter = new SourceRateLimiter(3);
    expect([1, 2, 3, 4].map(() => limiter.allow('10.0.0.1', 0))).toEqual([true, true, true, false]);
    expect(limiter.allow('10.0.0.2', 0)).toBe(true);
    expect(limiter.allow('10.0.0.1', 20_000)).toBe(true); // 3/min: one token every 20 s
  });
});

describe('guardPacketSize', () => {
  function socket() {
    const s = new EventEmitter();
    const oversize: number[] = [];
    guardPacketSize(s as unknown as Socket, 100, (n) => oversize.push(n));
    return { send: (bytes: number[]) => s.emit('data', Buffer.from(bytes)), oversize };
  }
  const publish = (bodyLength: number) => [0x32, bodyLength, ...new Array<number>(bodyLength).fill(0)];

  it('lets packets up to the limit through, however they are split into chunks', () => {
    const g = socket();
    const bytes = [...publish(100), ...publish(5), 0xc0, 0x00, ...publish(99)];
    for (const b of bytes) g.send([b]);
    g.send(bytes);
    expect(g.oversize).toEqual([]);
  });

  it('fires as soon as a fixed header announces more, before the body arrives', () => {
    const g = socket();
    g.send(publish(10));
    g.send([0x32, 0xc8]); // 200 = 0xc8 0x01, second length byte still to come
    expect(g.oversize).toEqual([]);
    g.send([0x01]);
    expect(g.oversize).toEqual([200]);
  });

  it('reads a four-byte remaining length', () => {
    const g = socket();
    g.send([0x30, 0xff, 0xff, 0xff, 0x7f]);
    expect(g.oversize).toEqual([268_435_455]);
  });
});
