// Supervision of the managed InfluxDB: when `influxd` ends while the hub runs (a crash, the OOM
// killer, `kill -9`), or stops answering /ping while it runs (hung: it is then killed), it is
// started again on the same port with exponential backoff, and each
// outage and each restart is a security event (`influxdb_down`, `influxdb_restarted`) that the
// operator sees and deployment check VG-DATA-008 counts. While it is down the InfluxDB client
// fails at once (reads answer a coded 503, the writer backs off, the spool keeps every
// acknowledged reading); once it is back the writer is nudged and the spool drains.
import { describeError } from '../core/errors.js';
import type { InfluxClient } from '../core/influx.js';
import type { Logger } from '../core/logger.js';
import type { SecurityEventRepository } from '../core/store/security-events.js';
import type { ManagedInflux } from './influxd.js';

/** The security event a restart raises; VG-DATA-008 counts them. */
export const INFLUXDB_RESTARTED = 'influxdb_restarted';
export const INFLUXDB_DOWN = 'influxdb_down';

export interface InfluxSupervisorOptions {
  influxd: Pick<ManagedInflux, 'exited' | 'restart' | 'stop' | 'killForRestart' | 'logFile'>;
  client: Pick<InfluxClient, 'setOutage' | 'ping'>;
  events: Pick<SecurityEventRepository, 'add'>;
  logger: Logger;
  /** After a restart, once InfluxDB answers (the database exists again, the writer is nudged). */
  onRestarted?: () => Promise<void> | void;
  /** First delay before a restart; doubles per failed attempt up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A process that stayed up this long resets the backoff. */
  stableAfterMs?: number;
  /** How often a running influxd is pinged; so many misses in a row and it is killed. */
  probeMs?: number;
  probeMisses?: number;
  now?: () => number;
}

export class InfluxSupervisor {
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private startedAt: number;
  private readonly probe: NodeJS.Timeout;
  private up = true;
  private misses = 0;
  private hung = false;
  private probing = false;
  private readonly now: () => number;
  /** Restarts done by this supervisor (for tests and metrics). */
  restarts = 0;

  constructor(private readonly options: InfluxSupervisorOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.watch();
    this.probe = setInterval(() => void this.ping(), options.probeMs ?? 5_000);
    this.probe.unref();
  }

  /** A running influxd that stops answering (hung, not dead) is killed, then restarted. */
  private async ping(): Promise<void> {
    if (!this.up || this.stopping || this.probing) return;
    this.probing = true;
    const answered = await this.options.client.ping().finally(() => (this.probing = false));
    if (answered) {
      this.misses = 0;
      return;
    }
    if (!this.up || ++this.misses < (this.options.probeMisses ?? 3)) return;
    this.up = false;
    this.hung = true;
    this.options.logger.error({ misses: this.misses }, 'the managed InfluxDB does not answer; killing it');
    await this.options.influxd.killForRestart(); // exitedUnexpectedly follows
  }

  private watch(): void {
    void this.options.influxd.exited.then(() => this.exitedUnexpectedly());
  }

  private exitedUnexpectedly(): void {
    if (this.stopping) return;
    this.up = false;
    const upMs = this.now() - this.startedAt;
    if (upMs >= (this.options.stableAfterMs ?? 60_000)) this.attempt = 0;
    this.options.client.setOutage('the managed influxd ended; restarting');
    this.options.events.add({
      kind: INFLUXDB_DOWN,
      severity: 'high',
      details: {
        reason: this.hung ? 'not_answering' : 'exited',
        upSeconds: Math.round(upMs / 1000),
        log: this.options.influxd.logFile,
      },
    });
    this.hung = false;
    this.options.logger.error(
      { upMs },
      'the managed InfluxDB ended; the spool holds readings until it is back',
    );
    this.schedule();
  }

  private schedule(): void {
    if (this.stopping) return;
    const initial = this.options.initialDelayMs ?? 250;
    const delay = Math.min(this.options.maxDelayMs ?? 30_000, initial * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => void this.restart(delay), delay);
    this.timer.unref();
  }

  private async restart(delayMs: number): Promise<void> {
    this.timer = undefined;
    if (this.stopping) return;
    const down = this.now();
    try {
      await this.options.influxd.restart();
    } catch (err) {
      this.options.logger.error(
        { err: describeError(err), attempt: this.attempt },
        'the managed InfluxDB did not start again; trying later',
      );
      return this.schedule();
    }
    // The hub began to stop while influxd was starting: this one is not left behind.
    if (this.stopping) return this.options.influxd.stop();
    this.startedAt = this.now();
    this.restarts += 1;
    this.misses = 0;
    this.up = true;
    this.options.client.setOutage(undefined);
    this.options.events.add({
      kind: INFLUXDB_RESTARTED,
      severity: 'high',
      details: { attempt: this.attempt, delayMs, startMs: this.now() - down },
    });
    this.options.logger.warn({ attempt: this.attempt }, 'the managed InfluxDB was restarted');
    this.watch();
    try {
      await this.options.onRestarted?.();
    } catch (err) {
      this.options.logger.warn({ err: describeError(err) }, 'after the InfluxDB restart');
    }
  }

  /** The hub stops: no more restarts (call before stopping influxd). */
  stop(): void {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    clearInterval(this.probe);
  }
}
