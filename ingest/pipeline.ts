// The ingest pipeline as the hub runs it: spool + dedupe ledger + intake + alerts + writer,
// opened together (the spool repaired, the dedupe state rebuilt) and stopped gracefully: appends
// in flight are written and fsynced, the writer drains what it can within `drainMs`, the spool
// closes. What is not yet in InfluxDB stays in the spool for the next start.
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { HubConfig } from '../core/config.js';
import type { InfluxClient } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import type { Logger } from '../core/logger.js';
import { AlertDefaultRepository } from '../core/store/alert-defaults.js';
import { AlertParameterRepository, HomePointRepository } from '../core/store/alert-settings.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { AlertSettings } from './alert-settings.js';
import { AlertBus, AlertEvaluator } from './alerts.js';
import { TelemetryIntake, type IntakeDevice, type IntakeResult } from './intake.js';
import { IngestMetrics } from './metrics.js';
import { MinuteRollups } from './minute-rollups.js';
import { markRollupsSince } from './rollup-sealing.js';
import { DeviceSeqLedger } from './seq-ledger.js';
import { Spool, type SpoolRepair } from './spool.js';
import { TelemetryWriter } from './writer.js';

export interface IngestDeps {
  config: HubConfig;
  store: ControlPlane;
  keyring: Keyring;
  influx: InfluxClient;
  /** Metrics go here (never the global registry). */
  registry: Registry;
  logger: Logger;
  now?: () => number;
}

export const SPOOL_DIR = 'spool';
export const REJECTED_FILE = 'rejected.log';

export class IngestPipeline {
  readonly bus = new AlertBus();
  readonly metrics: IngestMetrics;
  readonly spool: Spool;
  readonly ledger: DeviceSeqLedger;
  readonly alertSettings: AlertSettings;
  readonly alerts: AlertEvaluator;
  readonly intake: TelemetryIntake;
  readonly writer: TelemetryWriter;
  readonly rollups: MinuteRollups;

  constructor(deps: IngestDeps) {
    const { config, store, keyring, influx, registry, logger } = deps;
    const spoolDir = join(config.dataDir, SPOOL_DIR);
    this.metrics = new IngestMetrics(registry);
    this.spool = Spool.open({
      dir: spoolDir,
      segmentBytes: config.spoolSegmentBytes,
      quotaBytes: config.spoolQuotaBytes,
      groupCommitMs: config.spoolGroupCommitMs,
      ...(deps.now ? { now: deps.now } : {}),
      onQuota: (full) => {
        store.securityEvents.add({
          kind: full ? 'spool_full' : 'spool_recovered',
          severity: full ? 'critical' : 'info',
          details: { bytes: this.spool.bytes, quotaBytes: config.spoolQuotaBytes },
        });
        if (full)
          logger.error({ bytes: this.spool.bytes }, 'spool full: telemetry is no longer acknowledged');
        else logger.info({ bytes: this.spool.bytes }, 'spool below its quota again');
      },
      onRepair: (repair) => reportRepair(store, logger, repair),
    });
    this.metrics.observeSpool(this.spool);
    this.ledger = DeviceSeqLedger.recover(store.deviceSeqs, this.spool, config.seqMaxJump);
    this.alertSettings = new AlertSettings({
      parameters: new AlertParameterRepository(store.db),
      programDefaults: new AlertDefaultRepository(store.db),
      homes: new HomePointRepository(store.db),
      keyring,
      ...(deps.now ? { now: deps.now } : {}),
    });
    this.alerts = new AlertEvaluator({
      alerts: store.alerts,
      settings: this.alertSettings,
      bus: this.bus,
      logger,
    });
    this.bus.on('alert', (e) => {
      if (e.type === 'raised') this.metrics.alertsRaised.inc({ rule: e.alert.rule });
    });
    this.writer = new TelemetryWriter(
      { spool: this.spool, influx, deviceSeqs: store.deviceSeqs, metrics: this.metrics, logger },
      {
        batchSize: config.writerBatchSize,
        flushMs: config.writerFlushMs,
        retentionDays: config.retentionDays,
        rejectedFile: join(spoolDir, REJECTED_FILE),
      },
    );
    markRollupsSince(store.meta, config.clockSkewSeconds * 1000, (deps.now ?? Date.now)());
    this.rollups = new MinuteRollups(keyring, deps.now ? { now: deps.now } : {});
    this.metrics.observeRollups(this.rollups);
    this.intake = new TelemetryIntake({
      store,
      keyring,
      spool: this.spool,
      ledger: this.ledger,
      limits: config,
      metrics: this.metrics,
      bus: this.bus,
      alerts: this.alerts,
      rollups: this.rollups,
      logger,
      onAccepted: () => this.writer.notify(),
      ...(deps.now ? { now: deps.now } : {}),
    });
    if (this.spool.depth > 0)
      logger.info(
        { records: this.spool.depth },
        'spool holds records not yet in InfluxDB; the writer resumes',
      );
  }

  /** Starts the writer (it creates the database and retention policy first). */
  start(): void {
    this.writer.start();
  }

  /** For the broker's authorizePublish: resolves when the message may be acked. */
  accept(device: IntakeDevice, payload: Buffer): Promise<IntakeResult> {
    return this.intake.accept(device, payload);
  }

  acceptStatus(device: IntakeDevice, payload: Buffer): void {
    this.intake.acceptStatus(device, payload);
  }

  /** Call once the broker takes no more messages. */
  async stop(options: { drainMs?: number } = {}): Promise<void> {
    await this.writer.stop({ drainMs: options.drainMs ?? 2_000 });
    await this.spool.close();
  }
}

function reportRepair(
  store: ControlPlane,
  logger: Logger,
  repair: SpoolRepair | { kind: 'write_failed'; broken: boolean },
): void {
  const lost =
    repair.kind === 'corrupt_record' || repair.kind === 'lost_records' || repair.kind === 'truncated_segment';
  if (repair.kind === 'write_failed') {
    logger.error({ broken: repair.broken }, 'spool write failed; those messages were not acknowledged');
    if (repair.broken) store.securityEvents.add({ kind: 'spool_failed', severity: 'critical' });
    return;
  }
  if (repair.kind === 'torn_tail' || repair.kind === 'unwritten_segment' || repair.kind === 'cursor_reset') {
    // A crash mid-append leaves these; the cut records were never acknowledged.
    logger.warn({ repair }, 'spool repaired on open');
    return;
  }
  logger.error({ repair }, 'spool damaged: records lost');
  if (lost) store.securityEvents.add({ kind: 'spool_damaged', severity: 'high', details: { ...repair } });
}
