// Push to the EHR, wired: the destination from the config, the outbox in the control plane,
// the collector that fills it from each patient's FHIR export, the sender that empties it, and
// their metrics (queue depth, oldest pending age, failures, set-aside items). Runs only when
// `ehrPushUrl` is set.
import { RpmFiledReportRepository } from '../core/store/rpm-filed-reports.js';
import { ReportFiling } from '../rpm/report-filing.js';
import { readFileSync } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HubConfig } from '../core/config.js';
import { describeError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { alertFlagsBetween } from '../fhir/alert-flags.js';
import { EhrClient, type EhrDestination } from '../fhir/ehr-client.js';
import { PushCollector } from '../fhir/push-collector.js';
import { PushOutbox } from '../fhir/push-outbox.js';
import { PushSender } from '../fhir/push-sender.js';
import { StoreFhirRepository, type FhirRepository } from '../fhir/repository.js';
import { PatientRegistry } from '../core/patient-registry.js';
import { createMessaging } from '../messaging/messaging.js';
import { InfluxTelemetryReader } from '../dashboard-api/telemetry/influx-reader.js';
import { rollupsSince } from '../ingest/rollup-sealing.js';
import { liveFeedFromBus } from '../dashboard-api/telemetry/live-feed.js';
import { TelemetryService } from '../dashboard-api/telemetry/telemetry-service.js';
import type { RunningHub } from './main.js';

/** The one destination's name in the outbox, metrics and audit. */
export const EHR_DESTINATION = 'ehr';
const SEND_TICK_MS = 1_000;
const COLLECT_TICK_MS = 10_000;

/** The configured EHR destination, or undefined when push is off. */
export function ehrDestination(config: HubConfig): EhrDestination | undefined {
  if (!config.ehrPushUrl) return undefined;
  return {
    name: EHR_DESTINATION,
    baseUrl: config.ehrPushUrl,
    ca: config.ehrPushCaFile ? readFileSync(config.ehrPushCaFile, 'utf8') : undefined,
    auth: config.ehrPushBearerTokenFile
      ? { kind: 'bearer', tokenFile: config.ehrPushBearerTokenFile }
      : {
          kind: 'smart',
          tokenUrl: config.ehrPushTokenUrl!,
          clientId: config.ehrPushClientId!,
          keyFile: config.ehrPushKeyFile!,
          scope: config.ehrPushScope,
        },
    timeoutMs: config.ehrPushTimeoutSeconds * 1000,
  };
}

export interface EhrPushDeps {
  config: HubConfig;
  store: ControlPlane;
  keyring: Keyring;
  repository: FhirRepository;
  registry: Registry;
  logger: Logger;
  now?: () => number;
}

export interface EhrPush {
  collector: PushCollector;
  sender: PushSender;
  outbox: PushOutbox;
  client: EhrClient;
  stop(): Promise<void>;
}

/** The push parts for the configured destination (not started), or undefined when push is off. */
export function createEhrPush(deps: EhrPushDeps): EhrPush | undefined {
  const destination = ehrDestination(deps.config);
  if (!destination) return undefined;
  const { config, store } = deps;
  const now = deps.now ?? Date.now;
  const outbox = new PushOutbox(store.db, deps.keyring, now);
  const client = new EhrClient(destination, now);
  const counters = pushMetrics(deps.registry, outbox, now);
  const sender = new PushSender({
    outbox,
    client,
    repository: deps.repository,
    demographics: config.ehrPushDemographics === 'true',
    batchSize: config.ehrPushBatchSize,
    maxAttempts: config.ehrPushMaxAttempts,
    retryBaseMs: config.ehrPushRetryBaseMs,
    audit: store.audit,
    securityEvents: store.securityEvents,
    logger: deps.logger,
    now,
    onResult: (r) => {
      counters.sent.inc(r.sent);
      counters.failed.inc(r.failed);
      counters.setAside.inc(r.setAside);
    },
  });
  const collector = new PushCollector({
    outbox,
    destination: EHR_DESTINATION,
    repository: deps.repository,
    scope: {
      observations: config.ehrPushObservations === 'all',
      deviceKinds: config.ehrPushDeviceKinds,
      patients: config.ehrPushPatients,
      alerts:
        config.ehrPushAlerts === 'flags'
          ? (patientId, from, to) =>
              alertFlagsBetween(store.db, patientId, from, to).map((f) => ({ patientId, ...f }))
          : undefined,
    },
    settleMs: config.ehrPushSettleSeconds * 1000,
    backfillMs: config.ehrPushBackfillHours * 3_600_000,
    now,
  });
  return {
    collector,
    sender,
    outbox,
    client,
    stop: async () => {
      await sender.close();
      client.close();
    },
  };
}

/** Starts collecting and sending; the returned stop ends both (items in flight stay queued). */
export function startEhrPush(push: EhrPush, logger: Logger): () => Promise<void> {
  let collecting: Promise<unknown> | undefined;
  const collect = () => {
    collecting ??= push.collector
      .collect()
      .then((queued) => (queued > 0 ? push.sender.drain() : undefined))
      .catch((err: unknown) => logger.error({ err: describeError(err) }, 'FHIR push: collecting failed'))
      .finally(() => (collecting = undefined));
  };
  collect();
  const timer = setInterval(collect, COLLECT_TICK_MS).unref();
  push.sender.start(SEND_TICK_MS);
  return async () => {
    clearInterval(timer);
    await collecting;
    await push.stop();
  };
}

function pushMetrics(registry: Registry, outbox: PushOutbox, now: () => number) {
  const registers = [registry];
  const labelNames = ['destination'] as const;
  new Gauge({
    name: 'vitalgate_fhir_push_queue_depth',
    help: 'Resources waiting in the outbox for the EHR',
    labelNames,
    registers,
    collect() {
      this.set({ destination: EHR_DESTINATION }, outbox.stats(EHR_DESTINATION).pending);
    },
  });
  new Gauge({
    name: 'vitalgate_fhir_push_oldest_pending_seconds',
    help: 'Age of the oldest resource waiting for the EHR (0 when none)',
    labelNames,
    registers,
    collect() {
      const oldest = outbox.stats(EHR_DESTINATION).oldestPendingAt;
      this.set({ destination: EHR_DESTINATION }, oldest === null ? 0 : (now() - oldest) / 1000);
    },
  });
  new Gauge({
    name: 'vitalgate_fhir_push_set_aside',
    help: 'Resources the EHR refused, set aside for an operator',
    labelNames,
    registers,
    collect() {
      this.set({ destination: EHR_DESTINATION }, outbox.stats(EHR_DESTINATION).dead);
    },
  });
  const counter = (name: string, help: string) => {
    const c = new Counter({ name, help, labelNames, registers });
    return { inc: (n: number) => n > 0 && c.inc({ destination: EHR_DESTINATION }, n) };
  };
  return {
    sent: counter('vitalgate_fhir_push_sent_total', 'Resources the EHR stored'),
    failed: counter('vitalgate_fhir_push_failures_total', 'Resources in transactions the EHR did not store'),
    setAside: counter(
      'vitalgate_fhir_push_set_aside_total',
      'Resources set aside after a refusal or too many tries',
    ),
  };
}

/** Push for a running hub, over a telemetry reader of its own; undefined when push is off. */
export function startPushToEhr(hub: RunningHub): (() => Promise<void>) | undefined {
  if (!hub.config.ehrPushUrl) return undefined;
  const reader = new InfluxTelemetryReader(hub.influx, hub.ctx.keyring, {
    rollupsSince: () => rollupsSince(hub.ctx.store.meta),
  });
  const live = hub.ingest ? liveFeedFromBus(hub.ingest.bus) : { subscribe: () => () => {} };
  // What clinicians filed to each chart, read as the API's export reads it (messaging/filing.ts).
  const { filing } = createMessaging({
    store: hub.ctx.store,
    keyring: hub.ctx.keyring,
    retentionDays: hub.config.messageRetentionDays,
    escalationMinutes: hub.config.messageEscalationMinutes,
    mayReadPatient: () => false,
  });
  const filed: object = { filed: filing };
  // Clinical reports filed to each chart (rpm/report-filing.ts), as DocumentReferences.
  const documents = new ReportFiling({
    reports: new RpmFiledReportRepository(hub.ctx.store.db),
    keyring: hub.ctx.keyring,
    audit: hub.ctx.store.audit,
    now: Date.now,
  });
  const repository = new StoreFhirRepository({
    patients: hub.ctx.store.patients,
    demographics: new PatientRegistry(hub.ctx.store.patients, hub.ctx.keyring, hub.ctx.store.audit),
    devices: hub.ctx.store.devices,
    bindings: hub.ctx.store.gatewayBindings,
    readings: new TelemetryService(reader, live, Date.now),
    ...filed,
    documents,
  });
  const push = createEhrPush({
    config: hub.config,
    store: hub.ctx.store,
    keyring: hub.ctx.keyring,
    repository,
    registry: hub.registry,
    logger: hub.logger,
  })!;
  const stop = startEhrPush(push, hub.logger);
  return async () => {
    await stop();
    await reader.close();
  };
}
