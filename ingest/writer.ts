// Drains the spool into InfluxDB in batches, with retries and backoff while InfluxDB is down.
// Records are confirmed (and their spool segments freed) only after InfluxDB answered 204; after
// a restart the writer resumes from the confirmed position. Writes are idempotent: a replayed
// point has the same series and timestamp, so InfluxDB overwrites it.
import { describeError } from '../core/errors.js';
import type { InfluxClient } from '../core/influx.js';
import type { Logger } from '../core/logger.js';
import type { DeviceSeqRepository } from '../core/store/ingest-state.js';
import type { IngestMetrics } from './metrics.js';
import type { SpoolEntry } from './intake.js';
import type { Spool, SpoolPosition } from './spool.js';

export const RETENTION_POLICY = 'vitalgate_raw';
const MAX_BACKOFF_MS = 10_000;

export interface WriterOptions {
  batchLines: number;
  flushMs: number;
  retentionDays: number;
}

export class TelemetryWriter {
  private cursor: SpoolPosition;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private interrupt: (() => void) | undefined;
  private prepared = false;
  /** Lines stored in InfluxDB since start (for tests and benchmarks). */
  written = 0;

  constructor(
    private readonly spool: Spool,
    private readonly influx: InfluxClient,
    private readonly deviceSeqs: DeviceSeqRepository,
    private readonly metrics: IngestMetrics,
    private readonly logger: Logger,
    private readonly options: WriterOptions,
  ) {
    this.cursor = spool.confirmed();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Nudges the writer when new records were spooled. */
  notify(): void {
    this.wake?.();
  }

  /** Stops after the batch in flight; what is not yet written stays in the spool. */
  async stop(): Promise<void> {
    this.running = false;
    this.interrupt?.();
    await this.loop;
  }

  /** Resolves when everything spooled so far is in InfluxDB (tests, graceful drains). */
  async drained(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const end = this.spool.end;
    while (Date.now() < deadline) {
      if (
        this.cursor.segment > end.segment ||
        (this.cursor.segment === end.segment && this.cursor.offset >= end.offset)
      )
        return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  /** Waits; new records cut an idle wait short, but not a backoff after a failure. stop() ends both. */
  private sleep(ms: number, wakeable = true): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.interrupt = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interrupt = done;
      this.wake = wakeable ? done : undefined;
    });
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      const records = this.spool.read(this.cursor, Math.max(1, Math.ceil(this.options.batchLines / 4)));
      if (records.length === 0) {
        await this.sleep(this.options.flushMs);
        continue;
      }
      const lines: string[] = [];
      const seqs = new Map<string, number>();
      for (const record of records) {
        const entry = JSON.parse(record.body.toString('utf8')) as SpoolEntry;
        lines.push(...entry.l);
        seqs.set(entry.d, Math.max(seqs.get(entry.d) ?? -1, entry.q));
      }
      const stopTimer = this.metrics.writeLatency.startTimer();
      try {
        if (!this.prepared) await this.prepare();
        await this.influx.writeLines(lines, { precision: 'u' });
        stopTimer();
        this.deviceSeqs.record(seqs);
        const next = records[records.length - 1]!.next;
        this.spool.confirm(next);
        this.cursor = next;
        this.written += lines.length;
        this.metrics.spoolBytes.set(this.spool.depthBytes);
        backoff = 100;
        if (records.length < Math.ceil(this.options.batchLines / 4)) await this.sleep(this.options.flushMs);
      } catch (err) {
        this.metrics.writeFailures.inc();
        this.logger.warn(
          { err: describeError(err), retryInMs: backoff },
          'InfluxDB write failed; the spool keeps the data',
        );
        await this.sleep(backoff + Math.random() * backoff, false);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** Creates the database and the default retention policy (idempotent). */
  private async prepare(): Promise<void> {
    await this.influx.createDatabase();
    await this.influx.ensureRetentionPolicy(RETENTION_POLICY, this.options.retentionDays, { default: true });
    this.prepared = true;
  }
}
