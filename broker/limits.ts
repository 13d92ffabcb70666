// Rate limits for the device listener: token buckets per device (messages and bytes) and per
// source address (connection attempts), and a guard on the MQTT fixed header that ends a
// connection as soon as a packet announces itself larger than the limit, before it is buffered.
import type { Socket } from 'node:net';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }

  take(amount = 1, now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }
}

/** Connection attempts per source address, with idle buckets forgotten. */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private sweeps = 0;

  constructor(private readonly perMinute: number) {}

  allow(address: string, now = Date.now()): boolean {
    let bucket = this.buckets.get(address);
    if (!bucket) {
      bucket = new TokenBucket(this.perMinute / 60, this.perMinute, now);
      this.buckets.set(address, bucket);
    }
    if (++this.sweeps % 1000 === 0 && this.buckets.size > 10_000) this.buckets.clear();
    return bucket.take(1, now);
  }
}

/**
 * Watches the bytes of one connection (alongside the MQTT parser) and calls `onOversize` when a
 * packet's fixed header announces a remaining length over `maxBytes`.
 */
export function guardPacketSize(
  socket: Socket,
  maxBytes: number,
  onOversize: (announced: number) => void,
): void {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  socket.on('data', (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length) {
      if (state === 'body') {
        const step = Math.min(remaining, chunk.length - i);
        remaining -= step;
        i += step;
        if (remaining === 0) state = 'type';
      } else if (state === 'type') {
        i += 1; // packet type and flags
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
      } else {
        const byte = chunk[i++]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes += 1;
        if ((byte & 0x80) === 0 || lengthBytes === 4) {
          if (length > maxBytes) {
            onOversize(length);
            return;
          }
          remaining = length;
          state = remaining === 0 ? 'type' : 'body';
        }
      }
    }
  });
}
