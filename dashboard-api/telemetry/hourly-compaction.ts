// Writes the hourly rollups (hour-rollups.ts) ahead of any reader, so that even the first
// 30-day chart of a patient opens hourly points: once at start for the last WINDOW_DAYS of every
// patient not erased, then every INTERVAL_MS for the hours that ended since. One patient at a
// time, in the background; reading an hour through the same path writes what is missing, so an
// hour done already costs two small queries and its hourly points opened. Failures are counted,
// never thrown: readers still read the minutes.
import type { TelemetryReader } from '../ports.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** The longest range the console charts. */
export const WINDOW_DAYS = 30;
const INTERVAL_MS = 15 * 60_000;
/** Hours re-read by each periodic pass (the ones that ended since the last, and one before). */
const PASS_HOURS = 2;

export interface HourlyCompactionOptions {
  reader: Pick<TelemetryReader, 'readHourStats' | 'rollupsSince'>;
  /** Patients whose telemetry may be read (not erased). */
  patients: () => readonly string[];
  now?: () => number;
  intervalMs?: number;
  /** Told after a pass in which some patients failed (how many; no patient is named). */
  onFailures?: (patients: number) => void;
}

export class HourlyCompaction {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failed = 0;
  private readonly now: () => number;

  constructor(private readonly options: HourlyCompactionOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Patients whose pass failed (InfluxDB away, an erased key): read from their minutes. */
  get failures(): number {
    return this.failed;
  }

  /** The first pass over the window, then a pass every interval. */
  start(): void {
    this.launch(WINDOW_DAYS * DAY_MS);
    this.timer = setInterval(
      () => this.launch(PASS_HOURS * HOUR_MS),
      this.options.intervalMs ?? INTERVAL_MS,
    ).unref();
  }

  private launch(spanMs: number): void {
    if (this.running || this.stopped) return;
    this.running = this.pass(spanMs).finally(() => {
      this.running = undefined;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Writes the hourly rollups of the hours in the last `spanMs` that ended; resolves when done. */
  async pass(spanMs: number): Promise<void> {
    const { reader } = this.options;
    const since = reader.rollupsSince?.();
    if (!reader.readHourStats || since === undefined) return;
    const ended = Math.floor(this.now() / HOUR_MS) * HOUR_MS;
    const from = Math.max(Math.ceil(since / HOUR_MS) * HOUR_MS, ended - spanMs);
    if (from >= ended) return;
    let failed = 0;
    for (const patientId of this.options.patients()) {
      if (this.stopped) break;
      await reader.readHourStats({ patientId, from, to: ended - 1 }).catch(() => {
        failed += 1;
      });
    }
    this.failed += failed;
    if (failed > 0) this.options.onFailures?.(failed);
  }
}
