// Ingest metrics. Labels are reason codes only: never patient or device data.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class IngestMetrics {
  readonly accepted: Counter;
  readonly readings: Counter;
  readonly rejected: Counter<'reason'>;
  readonly duplicates: Counter<'kind'>;
  readonly spoolBytes: Gauge;
  readonly spoolLagRecords: Gauge;
  readonly writeLatency: Histogram;
  readonly writeFailures: Counter;
  readonly alertsRaised: Counter<'rule'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.accepted = new Counter({
      name: 'vitalgate_ingest_messages_accepted_total',
      help: 'Telemetry messages spooled',
      registers,
    });
    this.readings = new Counter({
      name: 'vitalgate_ingest_readings_accepted_total',
      help: 'Readings spooled',
      registers,
    });
    this.rejected = new Counter({
      name: 'vitalgate_ingest_dead_letters_total',
      help: 'Messages rejected for good, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.duplicates = new Counter({
      name: 'vitalgate_ingest_duplicates_total',
      help: 'Messages dropped as duplicates or replays',
      labelNames: ['kind'],
      registers,
    });
    this.spoolBytes = new Gauge({
      name: 'vitalgate_spool_bytes',
      help: 'Bytes in the on-disk spool',
      registers,
    });
    this.spoolLagRecords = new Gauge({
      name: 'vitalgate_spool_unconfirmed_records',
      help: 'Spooled records not yet confirmed by InfluxDB (as of the last write)',
      registers,
    });
    this.writeLatency = new Histogram({
      name: 'vitalgate_influx_write_seconds',
      help: 'InfluxDB batch write latency',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.writeFailures = new Counter({
      name: 'vitalgate_influx_write_failures_total',
      help: 'Failed InfluxDB batch writes',
      registers,
    });
    this.alertsRaised = new Counter({
      name: 'vitalgate_alerts_raised_total',
      help: 'Clinical alerts raised, by rule',
      labelNames: ['rule'],
      registers,
    });
  }
}
