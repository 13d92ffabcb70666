// Ingest metrics. Labels are reason codes, rule ids and kinds only: never a patient or device id.
// Spool and rollup gauges are read from them at scrape time.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MinuteRollups } from './minute-rollups.js';
import type { Spool } from './spool.js';

export class IngestMetrics {
  readonly messagesAccepted: Counter;
  readonly readingsAccepted: Counter;
  readonly deadLetters: Counter<'reason'>;
  readonly duplicates: Counter<'kind'>;
  /** Messages not acknowledged because the spool could not take them (SPOOL_FULL, I/O). */
  readonly refused: Counter<'code'>;
  readonly unboundReadings: Counter;
  readonly statusMessages: Counter<'outcome'>;
  readonly pointsWritten: Counter;
  readonly pointsRejected: Counter;
  readonly writeLatency: Histogram;
  readonly writeFailures: Counter;
  readonly alertsRaised: Counter<'rule'>;
  private spool: Spool | undefined;
  private rollups: Pick<MinuteRollups, 'size' | 'heldReadings' | 'closeFailures'> | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    const spool = () => this.spool;
    const rollups = () => this.rollups;
    this.messagesAccepted = new Counter({
      name: 'vitalgate_ingest_messages_accepted_total',
      help: 'Telemetry messages made durable in the spool',
      registers,
    });
    this.readingsAccepted = new Counter({
      name: 'vitalgate_ingest_readings_accepted_total',
      help: 'Readings made durable in the spool',
      registers,
    });
    this.deadLetters = new Counter({
      name: 'vitalgate_ingest_dead_letters_total',
      help: 'Messages rejected for good and kept as dead letters, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.duplicates = new Counter({
      name: 'vitalgate_ingest_duplicates_total',
      help: 'Messages acknowledged but dropped as duplicates (same seq) or replays (older seq)',
      labelNames: ['kind'],
      registers,
    });
    this.refused = new Counter({
      name: 'vitalgate_ingest_refused_total',
      help: 'Messages not acknowledged because the spool could not take them, by error code',
      labelNames: ['code'],
      registers,
    });
    this.unboundReadings = new Counter({
      name: 'vitalgate_ingest_unbound_readings_total',
      help: 'Readings from devices bound to no patient (sealed under the quarantine key)',
      registers,
    });
    this.statusMessages = new Counter({
      name: 'vitalgate_ingest_status_messages_total',
      help: 'Device status messages, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    new Gauge({
      name: 'vitalgate_spool_records',
      help: 'Spooled records not yet confirmed by InfluxDB',
      registers,
      collect() {
        this.set(spool()?.depth ?? 0);
      },
    });
    new Gauge({
      name: 'vitalgate_spool_bytes',
      help: 'Bytes the spool segments take on disk',
      registers,
      collect() {
        this.set(spool()?.bytes ?? 0);
      },
    });
    new Gauge({
      name: 'vitalgate_spool_oldest_unconfirmed_seconds',
      help: 'Age of the oldest spooled record not yet confirmed by InfluxDB',
      registers,
      collect() {
        this.set((spool()?.oldestUnconfirmedAgeMs() ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'vitalgate_spool_fsyncs',
      help: 'Spool fsyncs since start (each covers a group of appends)',
      registers,
      collect() {
        this.set(spool()?.stats.fsyncs ?? 0);
      },
    });
    new Gauge({
      name: 'vitalgate_spool_repairs',
      help: 'Torn tails cut and corrupt records skipped when the spool was opened',
      registers,
      collect() {
        const stats = spool()?.stats;
        this.set(stats ? stats.repairedTails + stats.corruptRecords : 0);
      },
    });
    new Gauge({
      name: 'vitalgate_rollup_minutes_open',
      help: 'One-minute rollups held in memory, not closed yet (per device and minute)',
      registers,
      collect() {
        this.set(rollups()?.size ?? 0);
      },
    });
    new Gauge({
      name: 'vitalgate_rollup_readings_held',
      help: 'Readings held in memory for the blocks of rollups not closed yet',
      registers,
      collect() {
        this.set(rollups()?.heldReadings ?? 0);
      },
    });
    new Gauge({
      name: 'vitalgate_rollup_close_failures',
      help: 'One-minute rollups whose final line could not be sealed since start (left to their points)',
      registers,
      collect() {
        this.set(rollups()?.closeFailures ?? 0);
      },
    });
    this.pointsWritten = new Counter({
      name: 'vitalgate_influx_points_written_total',
      help: 'Telemetry points stored in InfluxDB',
      registers,
    });
    this.pointsRejected = new Counter({
      name: 'vitalgate_influx_points_rejected_total',
      help: 'Telemetry points InfluxDB refused for good (kept in the spool directory, rejected.log)',
      registers,
    });
    this.writeLatency = new Histogram({
      name: 'vitalgate_influx_write_seconds',
      help: 'InfluxDB batch write latency',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.writeFailures = new Counter({
      name: 'vitalgate_influx_write_failures_total',
      help: 'Failed InfluxDB batch writes (retried)',
      registers,
    });
    this.alertsRaised = new Counter({
      name: 'vitalgate_alerts_raised_total',
      help: 'Clinical alerts raised, by rule',
      labelNames: ['rule'],
      registers,
    });
  }

  /** The spool whose depth, size and age the gauges report. */
  observeSpool(spool: Spool): void {
    this.spool = spool;
  }

  /** The rollups whose open minutes and held readings the gauges report. */
  observeRollups(rollups: Pick<MinuteRollups, 'size' | 'heldReadings' | 'closeFailures'>): void {
    this.rollups = rollups;
  }
}
