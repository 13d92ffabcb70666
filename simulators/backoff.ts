// Reconnect backoff for simulated devices: exponential with full jitter (each delay is drawn
// uniformly between a floor and the current exponential ceiling), so that a thousand devices
// dropped by one hub restart come back spread over the window instead of in one stampede.
// The ceiling doubles per failed attempt up to `maxMs`; a successful connect resets it.

export interface BackoffPolicy {
  /** Ceiling of the first delay, ms. */
  readonly initialMs: number;
  /** Largest ceiling, ms. */
  readonly maxMs: number;
  /** Growth of the ceiling per attempt. */
  readonly multiplier: number;
  /** Smallest delay ever returned, ms (so that jitter never means "at once"). */
  readonly floorMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 1_000,
  maxMs: 60_000,
  multiplier: 2,
  floorMs: 100,
};

export class ReconnectBackoff {
  private failures = 0;
  readonly policy: BackoffPolicy;

  constructor(
    policy: Partial<BackoffPolicy> = {},
    private readonly random: () => number = Math.random,
  ) {
    const merged = { ...DEFAULT_BACKOFF, ...policy };
    if (!(merged.initialMs > 0) || !(merged.maxMs >= merged.initialMs) || !(merged.multiplier >= 1)) {
      throw new RangeError('backoff needs 0 < initialMs <= maxMs and multiplier >= 1');
    }
    this.policy = { ...merged, floorMs: Math.min(Math.max(0, merged.floorMs), merged.initialMs) };
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The current ceiling: initialMs · multiplier^attempts, at most maxMs. */
  ceiling(): number {
    const { initialMs, maxMs, multiplier } = this.policy;
    return Math.min(maxMs, initialMs * multiplier ** Math.min(this.failures, 64));
  }

  /** The delay before the next attempt (counts one more failure). */
  next(): number {
    const ceiling = this.ceiling();
    this.failures += 1;
    const { floorMs } = this.policy;
    return Math.round(floorMs + this.random() * (ceiling - floorMs));
  }

  reset(): void {
    this.failures = 0;
  }
}
