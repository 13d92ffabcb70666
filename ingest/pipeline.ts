// The ingest pipeline as the hub runs it: spool + intake + writer + alerts, opened together and
// stopped gracefully (appends flushed and fsynced, the writer's batch finished).
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { HubConfig } from '../core/config.js';
import type { InfluxClient } from '../core/influx.js';
import type { Keyring } from '../core/keyring.js';
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { AlertBus, AlertEvaluator } from './alerts.js';
import { TelemetryIntakeService, type IntakeDevice, type IntakeResult, type SpoolEntry } from './intake.js';
import { IngestMetrics } from './metrics.js';
import { Spool } from './spool.js';
import { TelemetryWriter } from './writer.js';

export interface IngestDeps {
  config: HubConfig;
  store: ControlPlane;
  keyring: Keyring;
  influx: InfluxClient;
  registry: Registry;
  logger: Logger;
}

export class IngestPipeline {
  readonly bus = new AlertBus();
  readonly metrics: IngestMetrics;
  readonly spool: Spool;
  readonly writer: TelemetryWriter;
  private readonly intake: TelemetryIntakeService;

  constructor(deps: IngestDeps) {
    const { config, store, keyring, influx, registry, logger } = deps;
    this.metrics = new IngestMetrics(registry);
    this.spool = Spool.open({
      dir: join(config.dataDir, 'spool'),
      segmentBytes: config.spoolSegmentBytes,
      quotaBytes: config.spoolQuotaBytes,
      groupCommitMs: config.spoolGroupCommitMs,
      onQuota: (full) => {
        store.securityEvents.add({
          kind: full ? 'spool_full' : 'spool_recovered',
          severity: full ? 'critical' : 'info',
        });
        logger[full ? 'error' : 'info'](
          { bytes: this.spool.depthBytes },
          full ? 'spool full: intake stops acking' : 'spool below quota again',
        );
      },
    });
    const lastSeq = recoverLastSeq(store, this.spool);
    const evaluator = new AlertEvaluator(store.alerts, this.bus);
    this.bus.on('alert', (e) => {
      if (e.type === 'raised') this.metrics.alertsRaised.inc({ rule: e.alert.rule });
    });
    this.intake = new TelemetryIntakeService({
      store,
      keyring,
      spool: this.spool,
      limits: config,
      alerts: evaluator,
      bus: this.bus,
      metrics: this.metrics,
      lastSeq,
    });
    this.writer = new TelemetryWriter(this.spool, influx, store.deviceSeqs, this.metrics, logger, {
      batchLines: config.writerBatchSize,
      flushMs: config.writerFlushMs,
      retentionDays: config.retentionDays,
    });
  }

  start(): void {
    this.writer.start();
  }

  async accept(device: IntakeDevice, payload: Buffer): Promise<IntakeResult> {
    const result = await this.intake.accept(device, payload);
    if (result.outcome === 'accepted') this.writer.notify();
    return result;
  }

  acceptStatus(device: IntakeDevice, payload: Buffer): void {
    this.intake.acceptStatus(device, payload);
  }

  /** Call after the broker stopped taking messages: the writer finishes its batch, then the spool closes. */
  async stop(): Promise<void> {
    await this.writer.stop();
    await this.spool.close();
  }
}

/**
 * The dedupe state after a restart: the last seq InfluxDB confirmed per device, raised by every
 * record still in the spool (accepted and acked, but not yet written).
 */
function recoverLastSeq(store: ControlPlane, spool: Spool): Map<string, number> {
  const lastSeq = store.deviceSeqs.all();
  let position = spool.confirmed();
  for (;;) {
    const records = spool.read(position, 1000);
    if (records.length === 0) break;
    for (const record of records) {
      const entry = JSON.parse(record.body.toString('utf8')) as SpoolEntry;
      lastSeq.set(entry.d, Math.max(lastSeq.get(entry.d) ?? -1, entry.q));
    }
    position = records[records.length - 1]!.next;
  }
  return lastSeq;
}
