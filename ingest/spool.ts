// The on-disk spool: an append-only, segmented log. A PUBACK is sent only after the message's
// record is here and fsynced. Appends use group commit: every append that arrives while a write
// is in flight joins the next one, so one fsync covers many messages. Each record is
//   length (u32 LE) | CRC-32 of the body (u32 LE) | body
// A torn or corrupt tail (after a crash) is detected on open and truncated. The writer reads
// records from its confirmed cursor on; a segment is deleted only once every record in it is
// confirmed as stored in InfluxDB.
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  readFileSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { VitalGateError } from '../core/errors.js';

const HEADER = 8;
const MAX_RECORD = 64 * 1024 * 1024;

export interface SpoolPosition {
  segment: number;
  offset: number;
}

export interface SpoolRecord {
  position: SpoolPosition;
  /** Position just after this record. */
  next: SpoolPosition;
  body: Buffer;
}

export interface SpoolOptions {
  dir: string;
  segmentBytes: number;
  quotaBytes: number;
  /** Extra wait before a group commit, to gather more appends; 0 = only what is already queued. */
  groupCommitMs: number;
  /** Called when the quota is reached (and again when it clears). */
  onQuota?: (full: boolean) => void;
}

export interface SpoolStats {
  bytes: number;
  segments: number;
  fsyncs: number;
  repairedTails: number;
}

function segmentName(n: number): string {
  return `segment-${String(n).padStart(12, '0')}.log`;
}

export class Spool {
  private fd = -1;
  private segment = 0;
  private size = 0;
  private totalBytes = 0;
  private queue: { buf: Buffer; resolve: (p: SpoolPosition) => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;
  private full = false;
  private closed = false;
  readonly stats: SpoolStats = { bytes: 0, segments: 0, fsyncs: 0, repairedTails: 0 };

  private constructor(private readonly options: SpoolOptions) {}

  /** Opens the spool, repairing a torn tail of the newest segment. */
  static open(options: SpoolOptions): Spool {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const spool = new Spool(options);
    spool.recover();
    return spool;
  }

  private segments(): number[] {
    return readdirSync(this.options.dir)
      .map((f) => /^segment-(\d{12})\.log$/.exec(f)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private recover(): void {
    const segments = this.segments();
    for (const n of segments) this.totalBytes += statSync(join(this.options.dir, segmentName(n))).size;
    const last = segments[segments.length - 1] ?? this.confirmed().segment;
    this.segment = last;
    const file = join(this.options.dir, segmentName(last));
    this.fd = openSync(file, existsSync(file) ? 'r+' : 'w+', 0o600);
    const end = statSync(file).size;
    const valid = this.scanValidEnd(this.fd, end);
    if (valid < end) {
      ftruncateSync(this.fd, valid);
      fsyncSync(this.fd);
      this.totalBytes -= end - valid;
      this.stats.repairedTails += 1;
    }
    this.size = valid;
    this.updateStats();
  }

  /** The end of the last whole, CRC-valid record of a segment. */
  private scanValidEnd(fd: number, end: number): number {
    let offset = 0;
    const header = Buffer.alloc(HEADER);
    while (offset + HEADER <= end) {
      readSync(fd, header, 0, HEADER, offset);
      const length = header.readUInt32LE(0);
      if (length > MAX_RECORD || offset + HEADER + length > end) break;
      const body = Buffer.alloc(length);
      readSync(fd, body, 0, length, offset + HEADER);
      if (crc32(body) !== header.readUInt32LE(4)) break;
      offset += HEADER + length;
    }
    return offset;
  }

  /** Appends a record; resolves once it is fsynced (group commit). */
  append(body: Buffer): Promise<SpoolPosition> {
    if (this.closed) return Promise.reject(new VitalGateError('SPOOL_CLOSED', 'the spool is closed'));
    if (this.totalBytes + body.length + HEADER > this.options.quotaBytes) {
      if (!this.full) {
        this.full = true;
        this.options.onQuota?.(true);
      }
      return Promise.reject(new VitalGateError('SPOOL_FULL', 'the spool reached its disk quota'));
    }
    const buf = Buffer.allocUnsafe(HEADER + body.length);
    buf.writeUInt32LE(body.length, 0);
    buf.writeUInt32LE(crc32(body), 4);
    body.copy(buf, HEADER);
    this.totalBytes += buf.length;
    return new Promise((resolve, reject) => {
      this.queue.push({ buf, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        if (this.options.groupCommitMs > 0) setTimeout(() => this.flush(), this.options.groupCommitMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    try {
      if (this.size > 0 && this.size >= this.options.segmentBytes) this.rotate();
      const positions: SpoolPosition[] = [];
      let offset = this.size;
      for (const item of batch) {
        positions.push({ segment: this.segment, offset });
        offset += item.buf.length;
      }
      const data = batch.length === 1 ? batch[0]!.buf : Buffer.concat(batch.map((b) => b.buf));
      let written = 0;
      while (written < data.length)
        written += writeSync(this.fd, data, written, data.length - written, this.size + written);
      fdatasyncSync(this.fd);
      this.stats.fsyncs += 1;
      this.size = offset;
      batch.forEach((item, i) => item.resolve(positions[i]!));
    } catch (err) {
      this.totalBytes -= batch.reduce((n, b) => n + b.buf.length, 0);
      for (const item of batch)
        item.reject(
          new VitalGateError('SPOOL_WRITE_FAILED', `spool write failed: ${(err as Error).message}`),
        );
    }
    this.stats.bytes = this.totalBytes;
    if (this.queue.length > 0) setImmediate(() => this.flush());
    else this.flushing = false;
  }

  private rotate(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.segment += 1;
    this.fd = openSync(join(this.options.dir, segmentName(this.segment)), 'w+', 0o600);
    this.size = 0;
    const dirFd = openSync(this.options.dir, 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
  }

  /** Reads up to `max` records starting at `from` (in order, across segments). */
  read(from: SpoolPosition, max: number): SpoolRecord[] {
    const records: SpoolRecord[] = [];
    let pos = { ...from };
    while (records.length < max) {
      const isActive = pos.segment === this.segment;
      const file = join(this.options.dir, segmentName(pos.segment));
      if (!existsSync(file)) {
        if (pos.segment < this.segment) {
          pos = { segment: pos.segment + 1, offset: 0 };
          continue;
        }
        break;
      }
      const end = isActive ? this.size : statSync(file).size;
      if (pos.offset >= end) {
        if (pos.segment < this.segment) {
          pos = { segment: pos.segment + 1, offset: 0 };
          continue;
        }
        break;
      }
      const fd = isActive ? this.fd : openSync(file, 'r');
      try {
        const header = Buffer.alloc(HEADER);
        while (records.length < max && pos.offset + HEADER <= end) {
          readSync(fd, header, 0, HEADER, pos.offset);
          const length = header.readUInt32LE(0);
          if (pos.offset + HEADER + length > end) break;
          const body = Buffer.alloc(length);
          readSync(fd, body, 0, length, pos.offset + HEADER);
          const next = { segment: pos.segment, offset: pos.offset + HEADER + length };
          records.push({ position: pos, next, body });
          pos = next;
        }
      } finally {
        if (!isActive) closeSync(fd);
      }
      if (pos.offset < end) break;
    }
    return records;
  }

  /** The position up to which InfluxDB has confirmed every record. */
  confirmed(): SpoolPosition {
    const file = join(this.options.dir, 'confirmed.json');
    if (!existsSync(file)) return { segment: this.segments()[0] ?? 0, offset: 0 };
    return JSON.parse(readFileSync(file, 'utf8')) as SpoolPosition;
  }

  /** Persists the confirmed position (atomically) and deletes fully confirmed segments. */
  confirm(position: SpoolPosition): void {
    const file = join(this.options.dir, 'confirmed.json');
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(position));
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
    for (const n of this.segments()) {
      if (n >= position.segment) break;
      const path = join(this.options.dir, segmentName(n));
      this.totalBytes -= statSync(path).size;
      unlinkSync(path);
    }
    if (this.full && this.totalBytes < this.options.quotaBytes * 0.9) {
      this.full = false;
      this.options.onQuota?.(false);
    }
    this.updateStats();
  }

  /** Records appended but not yet confirmed, by byte count, and whether the quota is hit. */
  get depthBytes(): number {
    return this.totalBytes;
  }

  get isFull(): boolean {
    return this.full;
  }

  /** The end of the log: where the next append goes (after pending appends are flushed). */
  get end(): SpoolPosition {
    return { segment: this.segment, offset: this.size };
  }

  private updateStats(): void {
    this.stats.bytes = this.totalBytes;
    this.stats.segments = this.segments().length;
  }

  /** Flushes what is queued and closes the file. */
  async close(): Promise<void> {
    while (this.flushing) await new Promise((r) => setImmediate(r));
    this.closed = true;
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
