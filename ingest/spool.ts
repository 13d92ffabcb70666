// The on-disk spool: an append-only, segmented log under `<data dir>/spool/`. A PUBACK is sent
// only after the message's record is here and fdatasynced. Appends use group commit: the ones that
// arrive while a write + fdatasync is in flight (or within `groupCommitMs` of the first one) share
// the next one. The sync runs on the libuv thread pool, so the broker keeps decoding while the
// disk works. Records are framed with length, CRC-32, LSN and time (spool-segment.ts); a torn or
// corrupt tail is repaired on open (spool-recovery.ts). The writer reads from the confirmed
// cursor; a segment is deleted only once every record in it is confirmed as stored in InfluxDB.
import { closeSync, fdatasync, fsyncSync, ftruncate, openSync, rmSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VitalGateError } from '../core/errors.js';
import { syncDirectory, writeCursor, type SpoolCursor } from './spool-cursor.js';
import { corruptKey, recoverSpool, type SegmentInfo, type SpoolRepair } from './spool-recovery.js';
import { readFully, readRecords, type RecordSource, type SpoolRecord } from './spool-reader.js';
import {
  encodeRecord,
  encodeSegmentHeader,
  MAX_RECORD_BODY,
  RECORD_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './spool-segment.js';

export type { SpoolCursor } from './spool-cursor.js';
export type { SpoolRepair } from './spool-recovery.js';
export type { SpoolRecord } from './spool-reader.js';

const fdatasyncAsync = promisify(fdatasync);
const ftruncateAsync = promisify(ftruncate);
/** The quota counts as cleared again below this share of it (hysteresis for the alert). */
const QUOTA_CLEAR_RATIO = 0.9;

export interface SpoolOptions {
  dir: string;
  /** A segment is closed and a new one started once it holds this many bytes. */
  segmentBytes: number;
  /** Appends are refused (SPOOL_FULL) while the segments on disk would exceed this many bytes. */
  quotaBytes: number;
  /** Extra wait before a write, to gather more appends; 0 = only what queued meanwhile. */
  groupCommitMs: number;
  /** Called when the quota is reached, and again once the spool is back under 90 % of it. */
  onQuota?: (full: boolean) => void;
  /** Repairs made on open, and write failures at run time. */
  onRepair?: (repair: SpoolRepair | { kind: 'write_failed'; broken: boolean }) => void;
  now?: () => number;
  /** The data sync of appends (tests count or fail it). Default: fdatasync. */
  sync?: (fd: number) => Promise<void>;
}

export interface SpoolStats {
  appends: number;
  fsyncs: number;
  repairedTails: number;
  corruptRecords: number;
  /** Records found missing on open (corrupt, or cut off in a segment before the last one). */
  lostRecords: number;
  segmentsDeleted: number;
}

interface PendingAppend {
  body: Buffer;
  resolve: (lsn: number) => void;
  reject: (err: unknown) => void;
}

export class Spool {
  readonly stats: SpoolStats = {
    appends: 0,
    fsyncs: 0,
    repairedTails: 0,
    corruptRecords: 0,
    lostRecords: 0,
    segmentsDeleted: 0,
  };
  private readonly segments: SegmentInfo[];
  private active: SegmentInfo;
  private fd: number;
  private cursor: SpoolCursor;
  /** LSN the next durable record gets. */
  private nextLsn: number;
  private totalBytes: number;
  private readonly corrupt: Map<string, number>;
  private queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  private confirming: Promise<void> = Promise.resolve();
  private full = false;
  private closed = false;
  private broken = false;
  private oldest: { lsn: number; appendedAt: number } | undefined;
  private readonly now: () => number;
  private readonly sync: (fd: number) => Promise<void>;

  private constructor(private readonly options: SpoolOptions) {
    this.now = options.now ?? Date.now;
    this.sync = options.sync ?? fdatasyncAsync;
    const recovered = recoverSpool(options.dir);
    for (const repair of recovered.repairs) {
      if (repair.kind === 'torn_tail' || repair.kind === 'truncated_segment') this.stats.repairedTails += 1;
      if (repair.kind === 'corrupt_record') {
        this.stats.corruptRecords += 1;
        this.stats.lostRecords += 1;
      }
      if (repair.kind === 'lost_records') this.stats.lostRecords += repair.records;
      options.onRepair?.(repair);
    }
    this.segments = recovered.segments;
    this.cursor = recovered.cursor;
    this.corrupt = recovered.corrupt;
    this.nextLsn = recovered.nextLsn;
    const last = this.segments[this.segments.length - 1];
    if (last && last.segment >= this.cursor.segment && last.nextLsn === this.nextLsn) {
      this.active = last;
    } else {
      // Appending to the old last segment would break its LSN sequence: start a new one.
      this.active = this.createSegment(Math.max(last?.segment ?? 0, this.cursor.segment) + 1);
    }
    this.fd = openSync(this.path(this.active.segment), 'r+');
    this.totalBytes = this.segments.reduce((n, s) => n + s.size, 0);
  }

  /** Opens the spool, repairing what a crash left behind (see spool-recovery.ts). */
  static open(options: SpoolOptions): Spool {
    return new Spool(options);
  }

  private path(segment: number): string {
    return join(this.options.dir, segmentFileName(segment));
  }

  /** Creates a segment (header fsynced, directory fsynced) and makes it the last one. */
  private createSegment(segment: number): SegmentInfo {
    const path = this.path(segment);
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, encodeSegmentHeader(this.nextLsn), 0, SEGMENT_HEADER_BYTES, 0);
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(path, { force: true }); // a half-made segment would block the next attempt
      throw err;
    }
    closeSync(fd);
    const dirFd = openSync(this.options.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    const info = { segment, firstLsn: this.nextLsn, nextLsn: this.nextLsn, size: SEGMENT_HEADER_BYTES };
    this.segments.push(info);
    this.totalBytes += SEGMENT_HEADER_BYTES;
    return info;
  }

  /** Appends a record; resolves with its LSN once it is on disk (fdatasync, group commit). */
  append(body: Buffer): Promise<number> {
    if (this.closed) return Promise.reject(new VitalGateError('SPOOL_CLOSED', 'the spool is closed'));
    if (this.broken)
      return Promise.reject(
        new VitalGateError('SPOOL_IO_FAILED', 'the spool failed to write and is stopped'),
      );
    if (body.length === 0 || body.length > MAX_RECORD_BODY)
      return Promise.reject(
        new VitalGateError('SPOOL_RECORD_INVALID', 'a spool record must be 1 B to 16 MiB'),
      );
    const size = RECORD_HEADER_BYTES + body.length;
    if (this.totalBytes + this.queuedBytes + size > this.options.quotaBytes) {
      this.setFull(true);
      return Promise.reject(new VitalGateError('SPOOL_FULL', 'the spool reached its disk quota'));
    }
    this.queuedBytes += size;
    return new Promise((resolve, reject) => {
      this.queue.push({ body, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    const run = () => void this.flush();
    if (this.options.groupCommitMs > 0) setTimeout(run, this.options.groupCommitMs);
    else setImmediate(run);
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      const bytes = this.queuedBytes;
      this.queue = [];
      this.queuedBytes = 0;
      try {
        if (this.active.size >= this.options.segmentBytes) this.rotate();
        const data = Buffer.allocUnsafe(bytes);
        const at = this.now();
        let end = 0;
        batch.forEach((item, i) => (end = encodeRecord(data, end, this.nextLsn + i, at, item.body)));
        // The write only copies into the page cache; the sync is what waits for the disk, and it
        // runs off the main thread.
        let written = 0;
        while (written < bytes)
          written += writeSync(this.fd, data, written, bytes - written, this.active.size + written);
        await this.sync(this.fd);
        this.stats.fsyncs += 1;
        this.stats.appends += batch.length;
        const first = this.nextLsn;
        this.nextLsn += batch.length;
        this.active.size += bytes;
        this.active.nextLsn = this.nextLsn;
        this.totalBytes += bytes;
        batch.forEach((item, i) => item.resolve(first + i));
      } catch (err) {
        await this.rollBack();
        const error = new VitalGateError('SPOOL_WRITE_FAILED', 'the spool could not write a record to disk', {
          cause: (err as Error).message,
        });
        for (const item of batch) item.reject(error);
        if (this.broken) {
          for (const item of this.queue) item.reject(error);
          this.queue = [];
          this.queuedBytes = 0;
        }
      }
    }
    this.flushing = false;
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }

  /** After a failed write: cut what may have reached the file, so no half batch is ever read. */
  private async rollBack(): Promise<void> {
    try {
      await ftruncateAsync(this.fd, this.active.size);
      await this.sync(this.fd);
      this.options.onRepair?.({ kind: 'write_failed', broken: false });
    } catch {
      // The file may now hold records nobody was told about; stop rather than guess.
      this.broken = true;
      this.options.onRepair?.({ kind: 'write_failed', broken: true });
    }
  }

  /**
   * Starts the next segment. The old one is already synced (every append is). If the new one
   * cannot be made (disk full), the old one stays active and the next write tries again.
   */
  private rotate(): void {
    const next = this.createSegment(this.active.segment + 1);
    const fd = openSync(this.path(next.segment), 'r+');
    closeSync(this.fd);
    this.fd = fd;
    this.active = next;
  }

  /** Resolves once no write is queued or in flight. */
  private whenIdle(): Promise<void> {
    if (!this.flushing && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Reads durable records from `from` on, in LSN order across segments: at most `maxRecords`,
   * and stops after `maxBytes` of bodies (at least one record is returned if there is one).
   */
  read(from: SpoolCursor, maxRecords: number, maxBytes = 8 * 1024 * 1024): SpoolRecord[] {
    return readRecords(this.source, from, maxRecords, maxBytes);
  }

  private readonly source: RecordSource = {
    segments: () => this.segments,
    corrupt: (segment, offset) => this.corrupt.get(corruptKey(segment, offset)),
    readAt: (segment, offset, length) => {
      const isActive = segment === this.active.segment;
      const fd = isActive ? this.fd : openSync(this.path(segment), 'r');
      try {
        return readFully(fd, offset, length);
      } finally {
        if (!isActive) closeSync(fd);
      }
    },
  };

  /** The cursor up to which InfluxDB has confirmed every record. */
  confirmed(): SpoolCursor {
    return { ...this.cursor };
  }

  /**
   * Moves the confirmed cursor (persisted write-ahead safely) and deletes every segment whose
   * records are all confirmed. Calls are applied in order.
   */
  confirm(upTo: SpoolCursor): Promise<void> {
    const next = this.confirming.then(() => this.applyConfirm(upTo));
    this.confirming = next.catch(() => {});
    return next;
  }

  private async applyConfirm(upTo: SpoolCursor): Promise<void> {
    if (upTo.lsn <= this.cursor.lsn) return;
    await writeCursor(this.options.dir, upTo);
    this.cursor = { ...upTo };
    // A fully confirmed active segment of some size is closed so that it can go too.
    const drained = upTo.lsn >= this.nextLsn && this.queue.length === 0 && !this.flushing && !this.scheduled;
    if (drained && (this.full || this.active.size >= this.options.segmentBytes / 4) && !this.closed) {
      this.rotate();
    }
    const done = this.segments.filter(
      (s) => s !== this.active && (s.segment < upTo.segment || s.nextLsn <= upTo.lsn),
    );
    for (const s of done) {
      await unlink(this.path(s.segment)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      this.segments.splice(this.segments.indexOf(s), 1);
      this.totalBytes -= s.size;
      this.stats.segmentsDeleted += 1;
      for (const key of this.corrupt.keys()) if (key.startsWith(`${s.segment}:`)) this.corrupt.delete(key);
    }
    if (done.length > 0) await syncDirectory(this.options.dir);
    if (this.full && this.totalBytes < this.options.quotaBytes * QUOTA_CLEAR_RATIO) this.setFull(false);
  }

  private setFull(full: boolean): void {
    if (this.full === full) return;
    this.full = full;
    this.options.onQuota?.(full);
  }

  /** Records appended (durable) and not yet confirmed. */
  get depth(): number {
    return Math.max(0, this.nextLsn - this.cursor.lsn);
  }

  /** Bytes the spool's segments take on disk. */
  get bytes(): number {
    return this.totalBytes;
  }

  get isFull(): boolean {
    return this.full;
  }

  /** The durable end of the log: the cursor after the last fsynced record. */
  get end(): SpoolCursor {
    return { segment: this.active.segment, offset: this.active.size, lsn: this.nextLsn };
  }

  /** Age (ms) of the oldest record not yet confirmed; 0 when everything is confirmed. */
  oldestUnconfirmedAgeMs(): number {
    if (this.depth === 0) return 0;
    if (this.oldest?.lsn !== this.cursor.lsn) {
      const [record] = this.read(this.cursor, 1, 1);
      if (!record) return 0;
      this.oldest = { lsn: this.cursor.lsn, appendedAt: record.appendedAt };
    }
    return Math.max(0, this.now() - this.oldest.appendedAt);
  }

  /** Writes what is queued (fsynced), then closes. Later appends are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.whenIdle();
    await this.confirming;
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
