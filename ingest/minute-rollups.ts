// One-minute rollups kept at intake, where readings are still plaintext: per patient, device and
// minute, the statistics of the readings of each type, and the readings themselves.
//
// Each accepted message adds, for every minute it touched, an open line (rollup-sealing.ts: the
// rollup point with no sealed field yet) to its spool record, so InfluxDB knows of every
// rollup point as soon as of its readings. The accumulator takes the message's readings only
// once the record is durable (commit), so a message that was not acked counts nowhere.
//
// A minute is closed by a later record: its final line carries the sealed statistics and the
// block of readings, so a reader opens one envelope per device and minute instead of one per
// reading. A device's minutes are closed by its first message of a later minute; a minute idle
// for IDLE_MS (the device went quiet) is closed by the next records of any device. A minute
// that never gets its final line (ingest stopped first) stays open in InfluxDB and is read
// from its points, as is a minute whose block outgrew MAX_BLOCK_READINGS (its statistics are
// still closed). A reading arriving for a closed minute opens an accumulator with a slot of its
// own, and the reader merges a minute's points.
import type { ReadingType } from '../core/domain.js';
import { isVitalGateError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import { addReading, mergeStats } from './reading-stats.js';
import {
  MINUTE_MS,
  inBlocks,
  openRollupLine,
  rollupSlot,
  sealRollup,
  type MinuteBlock,
  type MinuteStats,
} from './rollup-sealing.js';
import { compactValues, type SealingTarget } from './sealing.js';
import type { TelemetryEnvelope } from './schemas.js';

const IDLE_MS = 3 * MINUTE_MS;
const MAX_OPEN = 200_000;
/** Idle minutes waiting for a record to close them; beyond this the oldest stay open. */
const MAX_IDLE = 100_000;
/** Idle minutes one record closes (besides its own device's). */
const IDLE_CLOSED_PER_RECORD = 16;
/** Readings one minute's block holds (20 a second); a minute with more is read from its points. */
const MAX_BLOCK_READINGS = 1_200;
/** Readings all blocks hold together (some 20-40 bytes each). */
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
  /** Messages prepared for it and not yet committed or aborted: it is not let go meanwhile. */
  pending: number;
}

/** What one message adds to one minute. */
interface Touch {
  minute: number;
  stats: MinuteStats;
  block: MinuteBlock;
  readings: number;
}

export interface PreparedRollups {
  /** Rollup lines (ns precision): the final lines of closed minutes, then an open line per minute touched. */
  lines: string[];
  /** Call once the message is durable: the accumulators take its readings. */
  commit(): void;
  /** Call when the message will not be durable. */
  abort(): void;
}

export class MinuteRollups {
  /** In least recently touched order. */
  private readonly open = new Map<string, Accumulator>();
  /** Open accumulators per patient and device. */
  private readonly byDevice = new Map<string, Accumulator[]>();
  /** Let go while idle, oldest first, until a record closes them. */
  private readonly idle = new Set<Accumulator>();
  /** Idle ones a prepared record closes: no other record takes them, unless that one aborts. */
  private readonly beingClosed = new Set<Accumulator>();
  private held = 0;
  private failures = 0;
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

  /** Accumulators held now, open or idle. */
  get size(): number {
    return this.open.size + this.idle.size + this.beingClosed.size;
  }

  /** Minutes whose final line could not be sealed (left open: read from their points). */
  get closeFailures(): number {
    return this.failures;
  }

  /** Readings held in blocks not closed yet. */
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
    // The device has moved on from its minutes before this message's own that it does not
    // touch; a few minutes idle (of any device) are closed along.
    const messageMinute = Math.floor(envelope.ts / MINUTE_MS) * MINUTE_MS;
    const closing = (this.byDevice.get(device) ?? []).filter(
      (acc) => acc.minute < messageMinute && !touched.has(acc.minute),
    );
    const claimed: Accumulator[] = [];
    for (const acc of this.idle) {
      if (claimed.length >= IDLE_CLOSED_PER_RECORD) break;
      claimed.push(acc);
    }
    closing.push(...claimed);
    const lines: string[] = [];
    for (const acc of closing) {
      const line = this.finalLine(acc);
      if (line) lines.push(line);
    }
    const updates: { touch: Touch; current: Accumulator | undefined; slot: number }[] = [];
    for (const touch of touched.values()) {
      const current = this.open.get(`${device}\u0000${touch.minute}`);
      const slot = current?.slot ?? rollupSlot(envelope.seq);
      updates.push({ touch, current, slot });
      lines.push(openRollupLine(this.keyring, target, touch.minute, slot));
    }
    // Nothing above changed any state: from here on, this message holds what it touched.
    for (const { current } of updates) if (current) current.pending += 1;
    for (const acc of claimed) {
      this.idle.delete(acc);
      this.beingClosed.add(acc);
    }
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      for (const { current } of updates) if (current) current.pending -= 1;
      return true;
    };
    return {
      lines,
      commit: () => {
        if (!settle()) return;
        const now = this.now();
        for (const acc of closing) this.remove(acc);
        for (const { touch, current, slot } of updates) {
          const acc = current ?? {
            key: `${device}\u0000${touch.minute}`,
            device,
            target: { deviceId: target.deviceId, patientId: target.patientId },
            minute: touch.minute,
            slot,
            stats: {},
            block: {},
            held: 0,
            touched: now,
            pending: 0,
          };
          if (!current) this.add(acc);
          for (const [type, s] of Object.entries(touch.stats))
            mergeStats((acc.stats[type as ReadingType] ??= { count: 0 }), s);
          acc.touched = now;
          this.hold(acc, touch);
          this.open.delete(acc.key);
          this.open.set(acc.key, acc);
        }
        this.sweep(now);
      },
      abort: () => {
        if (!settle()) return;
        for (const acc of claimed) if (this.beingClosed.delete(acc)) this.idle.add(acc);
      },
    };
  }

  /**
   * The final line of a minute: statistics and block. None once its patient was erased, nor when
   * sealing fails otherwise (counted): the minute stays open and is read from its points, and
   * the message that closes it, perhaps another patient's, is not failed for it.
   */
  private finalLine(acc: Accumulator): string | undefined {
    try {
      return sealRollup(this.keyring, acc.target, acc.minute, acc.slot, acc.stats, acc.block ?? undefined);
    } catch (err) {
      if (!isVitalGateError(err, 'KEY_DESTROYED')) this.failures += 1;
      return undefined;
    }
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

  /** Takes an accumulator out of the open ones (its readings stay held). */
  private detach(acc: Accumulator): boolean {
    if (this.open.get(acc.key) !== acc) return false;
    this.open.delete(acc.key);
    const list = this.byDevice.get(acc.device)?.filter((a) => a !== acc);
    if (list?.length) this.byDevice.set(acc.device, list);
    else this.byDevice.delete(acc.device);
    return true;
  }

  /** Lets an accumulator go, open, idle or being closed (once). */
  private remove(acc: Accumulator): void {
    if (this.idle.delete(acc) || this.beingClosed.delete(acc) || this.detach(acc)) this.held -= acc.held;
  }

  /**
   * Moves accumulators idle for IDLE_MS (and the oldest beyond MAX_OPEN) to the idle set, to be
   * closed by the next records; none with a message in flight.
   */
  private sweep(now: number): void {
    for (const acc of this.open.values()) {
      if (this.open.size <= this.maxOpen && now - acc.touched < this.idleMs) break;
      if (acc.pending > 0) continue;
      this.detach(acc);
      this.idle.add(acc);
    }
    for (const acc of this.idle) {
      if (this.idle.size <= MAX_IDLE) break;
      this.remove(acc); // stays open in InfluxDB: read from its points
    }
  }
}
