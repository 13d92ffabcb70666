// The device's store-and-forward buffer: every telemetry message is written here before it is
// published and removed only when the hub's PUBACK arrives, so a message survives a lost
// connection, a hub restart and a restart of the device itself. One file per message, named by
// its zero-padded seq, so the directory order is the send order. Bounded: when full, the oldest
// message is dropped (and counted), as flash-backed firmware queues do.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OutboxEntry {
  readonly seq: number;
  /** The telemetry envelope as sent (JSON text). */
  readonly payload: string;
  /** Number of readings in the envelope. */
  readonly readings: number;
}

const SUFFIX = '.json';
const TEMP_SUFFIX = '.tmp';
const SEQ_DIGITS = 16;

function fileName(seq: number): string {
  return `${String(seq).padStart(SEQ_DIGITS, '0')}${SUFFIX}`;
}

function readingsIn(payload: string): number {
  try {
    const readings = (JSON.parse(payload) as { readings?: unknown }).readings;
    return Array.isArray(readings) ? readings.length : 0;
  } catch {
    return 0;
  }
}

export class Outbox {
  /** Seqs in send order, with their reading counts. */
  private readonly index: { seq: number; readings: number }[] = [];
  private droppedCount = 0;

  private constructor(
    readonly dir: string,
    readonly capacity: number,
  ) {}

  /** Opens (or creates) the buffer in `dir`; half-written messages of a crash are discarded. */
  static open(dir: string, capacity = 10_000): Outbox {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('capacity must be >= 1');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const outbox = new Outbox(dir, capacity);
    const names = readdirSync(dir).sort();
    for (const name of names) {
      if (name.endsWith(TEMP_SUFFIX)) {
        rmSync(join(dir, name), { force: true });
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const seq = Number(name.slice(0, -SUFFIX.length));
      if (!Number.isSafeInteger(seq)) continue;
      outbox.index.push({ seq, readings: readingsIn(readFileSync(join(dir, name), 'utf8')) });
    }
    return outbox;
  }

  get size(): number {
    return this.index.length;
  }

  /** Readings held in the buffer. */
  get readings(): number {
    return this.index.reduce((n, e) => n + e.readings, 0);
  }

  /** Messages dropped because the buffer was full, since it was opened. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Highest seq held, if any (a restarted device never reuses it). */
  get lastSeq(): number | undefined {
    return this.index.at(-1)?.seq;
  }

  /**
   * Writes a message (atomically: temp file, then rename). Seqs must increase. Returns the
   * messages dropped to make room (oldest first).
   */
  append(seq: number, payload: string, readings: number): OutboxEntry[] {
    const last = this.lastSeq;
    if (last !== undefined && seq <= last) throw new RangeError(`seq ${seq} is not after ${last}`);
    const path = join(this.dir, fileName(seq));
    writeFileSync(`${path}${TEMP_SUFFIX}`, payload, { mode: 0o600 });
    renameSync(`${path}${TEMP_SUFFIX}`, path);
    this.index.push({ seq, readings });
    const dropped: OutboxEntry[] = [];
    while (this.index.length > this.capacity) {
      const oldest = this.first()!;
      this.remove(oldest.seq);
      this.droppedCount += 1;
      dropped.push(oldest);
    }
    return dropped;
  }

  /** The oldest message, read from disk. */
  first(): OutboxEntry | undefined {
    const head = this.index[0];
    if (!head) return undefined;
    return { ...head, payload: readFileSync(join(this.dir, fileName(head.seq)), 'utf8') };
  }

  /** Removes a message (acknowledged by the hub). Returns whether it was held. */
  remove(seq: number): boolean {
    const i = this.index.findIndex((e) => e.seq === seq);
    if (i < 0) return false;
    this.index.splice(i, 1);
    rmSync(join(this.dir, fileName(seq)), { force: true });
    return true;
  }

  /** The seqs held, in send order. */
  seqs(): number[] {
    return this.index.map((e) => e.seq);
  }

  /** Deletes every message and the directory itself (wipe). */
  destroy(): void {
    this.index.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
