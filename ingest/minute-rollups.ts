// One-minute rollups kept at intake, where readings are still plaintext: per patient, device and
// minute, the statistics of the readings of each type accepted so far, and the readings
// themselves. Each accepted message adds one sealed rollup line (rollup-sealing.ts) with the
// statistics for every minute it touched, written to the spool in the same record as its
// readings, so a rollup is durable, replayed and stored exactly when its readings are. The
// accumulator is updated only once the record is durable (commit), so a message that was not
// acked counts nowhere.
//
// When a device sends a later minute, its earlier minutes are closed: the message's record also
// carries their final line, with the statistics and the minute's block of readings, so a reader
// opens one envelope per device and minute instead of one per reading. A minute that was never
// closed (the hub stopped, the device went quiet, too many readings to hold) has no block and
// is read from its points. Accumulators idle for IDLE_MS are let go without a block (memory is
// bounded); a reading arriving later for a closed minute opens an accumulator with a slot of its
// own, and the reader merges a minute's points.
import type { ReadingType } from '../core/domain.js';
import type { Keyring } from '../core/keyring.js';
import { addReading, mergeStats } from './reading-stats.js';
import {
  MINUTE_MS,
  inBlocks,
  rollupSlot,
  sealRollup,
  type MinuteBlock,
  type MinuteStats,
} from './rollup-sealing.js';
import { compactValues, type SealingTarget } from './sealing.js';
import type { TelemetryEnvelope } from './schemas.js';

const IDLE_MS = 3 * MINUTE_MS;
const MAX_OPEN = 200_000;
/** Readings one minute's block holds (20 a second); a minute with more is read from its points. */
const MAX_BLOCK_READINGS = 1_200;
/** Readings all open blocks hold together (some 20-40 bytes each). */
const MAX_HELD_READINGS = 2_000_000;

interface Accumulator {
  key: string;
  device: string;
  target: SealingTarget;
  minute: number;
  slot: number;
  stats: MinuteStats;
  /** The minute's readings so far; null once there were too many to hold. */
  block: MinuteBlock | null;
  /** Readings in the block. */
  held: number;
  touched: number;
}

/** What one message adds to one minute. */
interface Touch {
  minute: number;
  stats: MinuteStats;
  block: MinuteBlock;
  readings: number;
}

export interface PreparedRollups {
  /** Sealed rollup lines (ns precision): closed minutes', then one per minute the message touched. */
  lines: string[];
  /** Call once the message is durable: the accumulators take its readings. */
  commit(): void;
}

export class MinuteRollups {
  /** In least recently touched order. */
  private readonly open = new Map<string, Accumulator>();
  /** Open accumulators per patient and device. */
  private readonly byDevice = new Map<string, Accumulator[]>();
  private held = 0;
  private readonly now: () => number;
  private readonly idleMs: number;
  private readonly maxOpen: number;
  private readonly maxBlockReadings: number;

  constructor(
    private readonly keyring: Keyring,
    options: { now?: () => number; idleMs?: number; maxOpen?: number; maxBlockReadings?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? IDLE_MS;
    this.maxOpen = options.maxOpen ?? MAX_OPEN;
    this.maxBlockReadings = options.maxBlockReadings ?? MAX_BLOCK_READINGS;
  }

  /** Accumulators held now. */
  get size(): number {
    return this.open.size;
  }

  /** Readings held in the open minutes' blocks. */
  get heldReadings(): number {
    return this.held;
  }

  /** The rollup lines of an accepted message. Throws KEY_DESTROYED for an erased patient. */
  prepare(target: SealingTarget, envelope: TelemetryEnvelope): PreparedRollups {
    const device = `${target.patientId ?? ''}\u0000${target.deviceId}`;
    const touched = new Map<number, Touch>();
    for (const reading of envelope.readings) {
      const { type, ts, ...values } = reading;
      const at = ts ?? envelope.ts;
      const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
      let touch = touched.get(minute);
      if (!touch) touched.set(minute, (touch = { minute, stats: {}, block: {}, readings: 0 }));
      addReading((touch.stats[type] ??= { count: 0 }), values);
      if (inBlocks(type)) {
        (touch.block[type] ??= []).push(at - minute, compactValues(type, values));
        touch.readings += 1;
      }
    }
    const lines: string[] = [];
    // The device has moved on from minutes before this message's own that it does not touch.
    const messageMinute = Math.floor(envelope.ts / MINUTE_MS) * MINUTE_MS;
    const closing = (this.byDevice.get(device) ?? []).filter(
      (acc) => acc.minute < messageMinute && !touched.has(acc.minute),
    );
    for (const acc of closing)
      if (acc.block)
        lines.push(sealRollup(this.keyring, acc.target, acc.minute, acc.slot, acc.stats, acc.block));
    const updates: { touch: Touch; current: Accumulator | undefined; slot: number; stats: MinuteStats }[] =
      [];
    for (const touch of touched.values()) {
      const current = this.open.get(`${device}\u0000${touch.minute}`);
      const stats: MinuteStats = {};
      for (const from of [current?.stats, touch.stats])
        for (const [type, s] of Object.entries(from ?? {}))
          mergeStats((stats[type as ReadingType] ??= { count: 0 }), s);
      const slot = current?.slot ?? rollupSlot(envelope.seq);
      lines.push(sealRollup(this.keyring, target, touch.minute, slot, stats));
      updates.push({ touch, current, slot, stats });
    }
    return {
      lines,
      commit: () => {
        const now = this.now();
        for (const acc of closing) this.remove(acc);
        for (const { touch, current, slot, stats } of updates) {
          const acc = current ?? {
            key: `${device}\u0000${touch.minute}`,
            device,
            target: { deviceId: target.deviceId, patientId: target.patientId },
            minute: touch.minute,
            slot,
            stats,
            block: {},
            held: 0,
            touched: now,
          };
          // New, or let go by another device's sweep since prepare: (again) open.
          if (this.open.get(acc.key) !== acc) this.add(acc);
          acc.stats = stats;
          acc.touched = now;
          this.hold(acc, touch);
          this.open.delete(acc.key);
          this.open.set(acc.key, acc);
        }
        this.sweep(now);
      },
    };
  }

  /** Adds a message's readings to the accumulator's block, or drops the block when too many. */
  private hold(acc: Accumulator, touch: Touch): void {
    if (!acc.block || touch.readings === 0) return;
    if (acc.held + touch.readings > this.maxBlockReadings || this.held + touch.readings > MAX_HELD_READINGS) {
      this.held -= acc.held;
      acc.held = 0;
      acc.block = null;
      return;
    }
    for (const [type, pairs] of Object.entries(touch.block)) {
      const into = (acc.block[type as ReadingType] ??= []);
      for (const x of pairs) into.push(x);
    }
    acc.held += touch.readings;
    this.held += touch.readings;
  }

  private add(acc: Accumulator): void {
    this.open.set(acc.key, acc);
    this.held += acc.held;
    const list = this.byDevice.get(acc.device);
    if (list) list.push(acc);
    else this.byDevice.set(acc.device, [acc]);
  }

  /** Lets an accumulator go (once: a closing message and a sweep may both try). */
  private remove(acc: Accumulator): void {
    if (this.open.get(acc.key) !== acc) return;
    this.open.delete(acc.key);
    this.held -= acc.held;
    const list = this.byDevice.get(acc.device)?.filter((a) => a !== acc);
    if (list?.length) this.byDevice.set(acc.device, list);
    else this.byDevice.delete(acc.device);
  }

  private sweep(now: number): void {
    for (const acc of this.open.values()) {
      if (this.open.size <= this.maxOpen && now - acc.touched < this.idleMs) return;
      this.remove(acc);
    }
  }
}
