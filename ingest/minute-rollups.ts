// One-minute rollups kept at intake, where readings are still plaintext: per patient, device,
// type and minute, the statistics of the readings accepted so far. Each accepted message adds a
// sealed rollup line (rollup-sealing.ts) for every minute it touched, written to the spool in
// the same record as its readings, so a rollup is durable, replayed and stored exactly when its
// readings are. The accumulator is updated only once the record is durable (commit), so a
// message that was not acked counts nowhere. Accumulators idle for IDLE_MS are let go (memory is
// bounded); a reading arriving later for that minute opens a new accumulator with a slot of its
// own, and the reader merges a minute's points.
import type { Keyring } from '../core/keyring.js';
import { addReading, mergeStats, type ReadingStats } from './reading-stats.js';
import { MINUTE_MS, rollupSlot, sealRollup } from './rollup-sealing.js';
import type { SealingTarget } from './sealing.js';
import type { TelemetryEnvelope } from './schemas.js';

const IDLE_MS = 3 * MINUTE_MS;
const MAX_OPEN = 200_000;

interface Accumulator {
  slot: number;
  stats: ReadingStats;
  touched: number;
}

export interface PreparedRollups {
  /** Sealed rollup lines (ns precision), one per minute and type the message touched. */
  lines: string[];
  /** Call once the message is durable: the accumulators take its readings. */
  commit(): void;
}

export class MinuteRollups {
  /** In least recently touched order. */
  private readonly open = new Map<string, Accumulator>();
  private readonly now: () => number;
  private readonly idleMs: number;
  private readonly maxOpen: number;

  constructor(
    private readonly keyring: Keyring,
    options: { now?: () => number; idleMs?: number; maxOpen?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? IDLE_MS;
    this.maxOpen = options.maxOpen ?? MAX_OPEN;
  }

  /** Accumulators held now. */
  get size(): number {
    return this.open.size;
  }

  /** The rollup lines of an accepted message. Throws KEY_DESTROYED for an erased patient. */
  prepare(target: SealingTarget, envelope: TelemetryEnvelope): PreparedRollups {
    const touched = new Map<string, { type: string; minute: number; stats: ReadingStats }>();
    for (const reading of envelope.readings) {
      const { type, ts, ...values } = reading;
      const minute = Math.floor((ts ?? envelope.ts) / MINUTE_MS) * MINUTE_MS;
      const k = `${target.patientId ?? ''}\u0000${target.deviceId}\u0000${type}\u0000${minute}`;
      let entry = touched.get(k);
      if (!entry) touched.set(k, (entry = { type, minute, stats: { count: 0 } }));
      addReading(entry.stats, values);
    }
    const updates: [string, Accumulator][] = [];
    const lines: string[] = [];
    for (const [k, { type, minute, stats }] of touched) {
      const current = this.open.get(k);
      const next: Accumulator = {
        slot: current?.slot ?? rollupSlot(envelope.seq),
        stats: { count: 0 },
        touched: 0,
      };
      if (current) mergeStats(next.stats, current.stats);
      mergeStats(next.stats, stats);
      lines.push(sealRollup(this.keyring, target, type, minute, next.slot, next.stats));
      updates.push([k, next]);
    }
    return {
      lines,
      commit: () => {
        const now = this.now();
        for (const [k, acc] of updates) {
          acc.touched = now;
          this.open.delete(k);
          this.open.set(k, acc);
        }
        this.sweep(now);
      },
    };
  }

  private sweep(now: number): void {
    for (const [k, acc] of this.open) {
      if (this.open.size <= this.maxOpen && now - acc.touched < this.idleMs) return;
      this.open.delete(k);
    }
  }
}
