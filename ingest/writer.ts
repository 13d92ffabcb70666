// Drains the spool into InfluxDB: batches of up to `batchSize` points, or whatever is there once
// the oldest waiting record is `flushMs` old. Records are confirmed (and their spool segments
// freed) only after InfluxDB answered 204, and `seq_windows` is updated before the cursor moves.
// While InfluxDB is down it retries with exponential backoff and full jitter; after a restart it
// resumes from the confirmed cursor. Writes are idempotent: a replayed point has the same series
// and timestamp, so InfluxDB overwrites it. A batch InfluxDB refuses for good (HTTP 400: bad
// line, field type conflict, beyond retention) is split until the refused records are found;
// those are set aside in `rejected.log` (ciphertext only) and counted, never silently dropped.
// A message's one-minute rollup lines follow its points; within a batch only the last line of
// each rollup point is sent: a rollup point's later lines carry every field of its earlier ones
// (rollup-sealing.ts), so InfluxDB ends with the same point.
import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import { describeError, isVitalGateError } from '../core/errors.js';
import type { InfluxClient, Precision } from '../core/influx.js';
import type { Logger } from '../core/logger.js';
import type { DeviceSeqRepository } from '../core/store/ingest-state.js';
import type { IngestMetrics } from './metrics.js';
import type { Spool, SpoolCursor, SpoolRecord } from './spool.js';
import { spooledWindow } from './seq-ledger.js';
import { decodeSpooledMessage, type SpooledMessage } from './spooled-message.js';

export const RETENTION_POLICY = 'vitalgate_raw';
/** Points carry ns timestamps (sealing.ts). core/influx.ts types only ms and u; InfluxDB 1.x takes n. */
const NANOSECONDS = 'n' as Precision;
const BASE_BACKOFF_MS = 100;

export interface WriterOptions {
  /** Points per write. */
  batchSize: number;
  /** Longest wait for a batch to fill. */
  flushMs: number;
  retentionDays: number;
  /** Where records InfluxDB refuses for good are kept, one JSON line each. */
  rejectedFile: string;
  maxBackoffMs?: number;
  random?: () => number;
  now?: () => number;
}

export interface WriterDeps {
  spool: Spool;
  influx: InfluxClient;
  deviceSeqs: DeviceSeqRepository;
  metrics: IngestMetrics;
  logger: Logger;
}

interface Pending {
  record: SpoolRecord;
  /** undefined: the body is not a spooled message; it is set aside, not sent. */
  message: SpooledMessage | undefined;
}

type SleepKind = 'idle' | 'filling' | 'backoff';

export class TelemetryWriter {
  private cursor: SpoolCursor;
  private readFrom: SpoolCursor;
  private pending: Pending[] = [];
  private pendingPoints = 0;
  private running = false;
  private stopping = false;
  private stopDeadline = 0;
  private prepared = false;
  private loop: Promise<void> | undefined;
  private confirming: Promise<void> = Promise.resolve();
  private sleeping: { kind: SleepKind; wake: () => void } | undefined;
  private pointsWritten = 0;
  /** Set aside in a batch that then failed for another reason: not set aside twice on retry. */
  private readonly setAsideLsns = new Set<number>();
  private readonly now: () => number;

  constructor(
    private readonly deps: WriterDeps,
    private readonly options: WriterOptions,
  ) {
    this.cursor = deps.spool.confirmed();
    this.readFrom = this.cursor;
    this.now = options.now ?? Date.now;
  }

  /** Points stored in InfluxDB since start. */
  get written(): number {
    return this.pointsWritten;
  }

  /** Everything before this is stored in InfluxDB. */
  get confirmed(): SpoolCursor {
    return { ...this.cursor };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.loop = this.run().catch((err: unknown) => {
      this.deps.logger.error(
        { err: describeError(err) },
        'telemetry writer stopped by an error; the spool keeps the data',
      );
      this.running = false;
    });
  }

  /** New records were spooled: ends an idle wait, or a filling wait once a batch is there. */
  notify(): void {
    const s = this.sleeping;
    if (!s) return;
    if (s.kind === 'idle' || (s.kind === 'filling' && this.deps.spool.depth >= this.options.batchSize))
      s.wake();
  }

  /** InfluxDB is back (its process was restarted): a backoff wait ends now. */
  retryNow(): void {
    if (this.sleeping?.kind === 'backoff') this.sleeping.wake();
  }

  /**
   * Stops the writer. With `drainMs`, it first keeps writing (no waits, no retries) until the
   * spool is drained or the time is up; what is not written stays in the spool for next time.
   */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.stopDeadline = this.now() + (options.drainMs ?? 0);
    this.sleeping?.wake();
    await this.loop;
    await this.confirming;
    this.running = false;
  }

  /** Resolves true once everything spooled so far is confirmed (tests, benchmarks). */
  async drained(timeoutMs = 30_000): Promise<boolean> {
    const deadline = this.now() + timeoutMs;
    while (this.cursor.lsn < this.deps.spool.end.lsn) {
      if (this.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  private sleep(ms: number, kind: SleepKind): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake(), Math.max(0, ms));
      const wake = () => {
        clearTimeout(timer);
        if (this.sleeping?.wake === wake) this.sleeping = undefined;
        resolve();
      };
      this.sleeping = { kind, wake };
    });
  }

  private fill(): void {
    while (this.pendingPoints < this.options.batchSize) {
      const records = this.deps.spool.read(
        this.readFrom,
        Math.max(64, this.options.batchSize - this.pendingPoints),
      );
      if (records.length === 0) return;
      for (const record of records) {
        let message: SpooledMessage | undefined;
        try {
          message = decodeSpooledMessage(record.body);
        } catch {
          message = undefined;
        }
        this.pending.push({ record, message });
        this.pendingPoints += message?.points ?? 0;
      }
      this.readFrom = records[records.length - 1]!.next;
    }
  }

  /** The front of the queue, up to `batchSize` points (at least one record). */
  private nextBatch(): Pending[] {
    let points = 0;
    let n = 0;
    while (n < this.pending.length) {
      const p = this.pending[n]!.message?.points ?? 0;
      if (n > 0 && points + p > this.options.batchSize) break;
      points += p;
      n += 1;
    }
    return this.pending.slice(0, n);
  }

  private async run(): Promise<void> {
    let backoff = BASE_BACKOFF_MS;
    const maxBackoff = this.options.maxBackoffMs ?? 10_000;
    while (!(this.stopping && this.now() >= this.stopDeadline)) {
      this.fill();
      if (this.pending.length === 0) {
        if (this.stopping) return;
        await this.sleep(this.options.flushMs, 'idle');
        continue;
      }
      const age = this.now() - this.pending[0]!.record.appendedAt;
      if (!this.stopping && this.pendingPoints < this.options.batchSize && age < this.options.flushMs) {
        await this.sleep(this.options.flushMs - age, 'filling');
        continue;
      }
      const batch = this.nextBatch();
      try {
        if (!this.prepared) await this.prepare();
        await this.send(batch);
        this.commit(batch);
        backoff = BASE_BACKOFF_MS;
      } catch (err) {
        this.deps.metrics.writeFailures.inc();
        if (isVitalGateError(err) && err.details?.status === 404) this.prepared = false; // database gone
        if (this.stopping) return;
        const wait = backoff * (0.5 + (this.options.random ?? Math.random)() / 2);
        this.deps.logger.warn(
          { err: describeError(err), retryInMs: Math.round(wait), waiting: this.deps.spool.depth },
          'InfluxDB write failed; the spool keeps the data',
        );
        await this.sleep(wait, 'backoff');
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  }

  /** Creates the database and the default retention policy (idempotent). */
  private async prepare(): Promise<void> {
    try {
      await this.deps.influx.createDatabase();
      await this.deps.influx.ensureRetentionPolicy(RETENTION_POLICY, this.options.retentionDays, {
        default: true,
      });
    } catch (err) {
      if (!isVitalGateError(err, 'INFLUX_QUERY_FAILED')) throw err;
      // The server answered but refused (e.g. a v1-compatible endpoint without these statements).
      this.deps.logger.warn(
        { err: describeError(err) },
        'could not create the InfluxDB database or retention policy; writing to it as it is',
      );
    }
    this.prepared = true;
  }

  /** Writes a batch; records InfluxDB refuses for good are found by halving and set aside. */
  private async send(batch: Pending[]): Promise<void> {
    const sendable = batch.filter((p) => p.message !== undefined);
    for (const p of batch) if (!p.message) this.setAside(p, 'not a spooled message');
    if (sendable.length === 0) return;
    try {
      const stop = this.deps.metrics.writeLatency.startTimer();
      await this.deps.influx.writeLines(batchLines(sendable.map((p) => p.message!)), {
        precision: NANOSECONDS,
      });
      stop();
    } catch (err) {
      const status = isVitalGateError(err, 'INFLUX_WRITE_FAILED') ? err.details?.status : undefined;
      if (status !== 400 && status !== 413) throw err;
      if (sendable.length === 1)
        return this.setAside(sendable[0]!, `InfluxDB answered HTTP ${String(status)}`);
      const half = Math.ceil(sendable.length / 2);
      await this.send(sendable.slice(0, half));
      await this.send(sendable.slice(half));
    }
  }

  private setAside(p: Pending, why: string): void {
    if (this.setAsideLsns.has(p.record.lsn)) return;
    this.setAsideLsns.add(p.record.lsn);
    const line = JSON.stringify({
      lsn: p.record.lsn,
      appendedAt: p.record.appendedAt,
      deviceId: p.message?.deviceId,
      seq: p.message?.seq,
      why,
      body: p.record.body.toString('base64'),
    });
    appendFileSync(this.options.rejectedFile, `${line}\n`, { mode: 0o600 });
    const fd = openSync(this.options.rejectedFile, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.deps.metrics.pointsRejected.inc(p.message?.points ?? 1);
    this.deps.logger.error(
      { lsn: p.record.lsn, device: p.message?.deviceId, why },
      'InfluxDB refused a spooled message for good; it is kept in rejected.log',
    );
  }

  /**
   * The batch is stored: the replay windows (seq_windows) first, then the spool cursor. The cursor write (two fsyncs)
   * runs while the next batch is sent; confirmations are applied in order, and a crash before
   * one lands only means those points are written again (idempotent).
   */
  private commit(batch: Pending[]): void {
    const seqs = new Map<string, number>();
    let points = 0;
    for (const { message } of batch) {
      if (!message) continue;
      points += message.points;
      const window = spooledWindow(message, this.deps.deviceSeqs);
      if (message.seq > (seqs.get(window) ?? -1)) seqs.set(window, message.seq);
    }
    this.deps.deviceSeqs.record(seqs);
    const next = batch[batch.length - 1]!.record.next;
    this.confirming = this.deps.spool.confirm(next).then(
      () => {
        this.cursor = next;
      },
      (err: unknown) => {
        this.deps.logger.error(
          { err: describeError(err) },
          'could not move the spool cursor; it moves with the next batch',
        );
      },
    );
    this.pending.splice(0, batch.length);
    this.pendingPoints -= points;
    this.pointsWritten += points;
    this.deps.metrics.pointsWritten.inc(points);
    this.setAsideLsns.clear();
  }
}

/**
 * The lines of a batch: every point, and of the rollup lines (after each message's points) only
 * the last one for each rollup point (series and time), which carries every field of the others.
 */
function batchLines(messages: readonly SpooledMessage[]): string[] {
  const points: string[] = [];
  const rollups = new Map<string, string>();
  for (const m of messages) {
    let end = -1;
    for (let i = 0; i < m.points && end < m.lines.length; i++) {
      end = m.lines.indexOf('\n', end + 1);
      if (end === -1) end = m.lines.length;
    }
    if (end >= m.lines.length) {
      points.push(m.lines);
      continue;
    }
    points.push(m.lines.slice(0, end));
    for (const line of m.lines.slice(end + 1).split('\n')) {
      const fields = line.indexOf(' '); // tags are escaped: the first space ends them
      const time = line.lastIndexOf(' ');
      rollups.set(`${line.slice(0, fields)}${line.slice(time)}`, line);
    }
  }
  for (const line of rollups.values()) points.push(line);
  return points;
}
