// The running hub: the composition root. Start order: control plane and CA → InfluxDB (managed
// or external) → ingest → broker → API; stop in reverse. Before all of it, the data dir's lock
// (data-dir-lock.ts): one hub per data dir. It also watches the shared data dir, so
// that a `vitalgate device revoke` from another shell reaches live sessions within a second.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { HubConfig } from '../core/config.js';
import { describeError } from '../core/errors.js';
import { InfluxClient } from '../core/influx.js';
import { createLogger, type Logger } from '../core/logger.js';
import { CommandPublisher } from '../broker/commands.js';
import { DeviceBroker, type TelemetryIntake } from '../broker/device-broker.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { Messaging } from '../messaging/messaging.js';
import { RETENTION_POLICY } from '../ingest/writer.js';
import { CertificateAuthority } from '../pki/authority.js';
import { DeviceLifecycle } from '../pki/lifecycle.js';
import { BackupSchedule } from './backup/schedule.js';
import { openContext, type HubContext } from './context.js';
import { DataDirLock } from './data-dir-lock.js';
import { HUB_STATE_FILE, liveHubInProcess } from './checks/live.js';
import { DeploymentChecks } from './checks/service.js';
import { startRetention } from './retention.js';
import { InfluxSupervisor } from './influx-supervisor.js';
import { ManagedInflux } from './influxd.js';
import { DeviceBehaviourMonitor } from './monitoring/device-behaviour.js';
import { startOperatorServices } from './operator-services.js';
import { startPushToEhr } from './ehr-push.js';
import { StaffAccessMonitor } from './monitoring/staff-access.js';

export interface HubReady {
  ready: true;
  mqttPort: number;
  apiPort: number | null;
  influxUrl: string;
}

/** Optional parts that later layers plug in (ingest pipeline, API server). */
export interface HubPlugins {
  createIntake?(hub: RunningHub): Promise<TelemetryIntake & { stop?(): Promise<void> }>;
  startApi?(hub: RunningHub): Promise<{ port: number; stop(): Promise<void> }>;
}

export interface RunningHub {
  config: HubConfig;
  ctx: HubContext;
  logger: Logger;
  registry: Registry;
  authority: CertificateAuthority;
  influx: InfluxClient;
  broker: DeviceBroker;
  commands: CommandPublisher;
  lifecycle: DeviceLifecycle;
  /** Set by the ingest plugin. */
  ingest?: IngestPipeline;
  /** The deployment checks against this running hub. */
  checks: DeploymentChecks;
  /** The device behaviour monitor the hub ticks (set once it runs). */
  behaviour?: DeviceBehaviourMonitor;
  /** The bound MQTT port, once the broker listens. */
  mqttPort: number;
  /** The clock the API and messaging read (Date.now unless a test injects one). */
  now: () => number;
  /** Set by the API plugin: care-team messaging, whose retention and escalation the hub runs on a timer. */
  messaging?: Messaging;
}

export class Hub {
  private readonly stops: (() => Promise<void> | void)[] = [];
  private running: RunningHub | undefined;
  private timers: NodeJS.Timeout[] = [];
  private apiPort: number | null = null;

  constructor(
    private readonly config: HubConfig,
    private readonly plugins: HubPlugins = {},
    private readonly logger: Logger = createLogger({ level: config.logLevel }),
    private readonly now: () => number = Date.now,
  ) {}

  get hub(): RunningHub | undefined {
    return this.running;
  }

  async start(): Promise<HubReady> {
    const { config, logger } = this;
    // One hub per data dir: the lock comes before anything is read or written there, and goes
    // last. Without the dir, openContext says to run init.
    if (existsSync(config.dataDir)) {
      const lock = DataDirLock.acquire(config.dataDir);
      this.stops.push(() => lock.release());
    }
    const ctx = openContext(config);
    this.stops.push(() => ctx.close());
    try {
      const authority = await CertificateAuthority.load({ store: ctx.store, keyring: ctx.keyring, config });
      await authority.currentRevocationList();

      let influxUrl = config.influxUrl;
      let managed: ManagedInflux | undefined;
      if (!influxUrl) {
        const started = await new ManagedInflux({
          dataDir: config.dataDir,
          port: config.influxPort,
          onNotice: (line) => logger.warn(line),
        }).start();
        this.stops.push(() => started.stop());
        managed = started;
        influxUrl = started.url;
      }
      const influx = new InfluxClient({
        url: influxUrl,
        database: config.influxDb,
        username: config.influxUsername,
        password: config.influxPassword,
      });
      if (managed) {
        // Restarted with backoff when it dies; the spool drains once it is back.
        const supervisor = new InfluxSupervisor({
          influxd: managed,
          client: influx,
          events: ctx.store.securityEvents,
          logger,
          initialDelayMs: config.influxRestartDelayMs,
          onRestarted: async () => {
            this.running?.ingest?.writer.retryNow();
            await influx.createDatabase();
          },
        });
        this.stops.push(() => supervisor.stop());
      }

      // The database and the retention policy exist from the start (the writer keeps retrying if
      // an external InfluxDB is down now).
      await influx.createDatabase().then(
        () => influx.ensureRetentionPolicy(RETENTION_POLICY, config.retentionDays, { default: true }),
        (err: unknown) =>
          logger.warn(
            { err: describeError(err) },
            'InfluxDB not ready at start; the spool holds readings until it is',
          ),
      );

      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      const broker = new DeviceBroker({
        store: ctx.store,
        limits: config,
        tls: {
          ...authority.serverTls(),
          ca: authority.caBundlePem(),
          anchors: authority.deviceTrustAnchorPem(),
          crl: authority.tlsRevocationPem(),
        },
        registry,
        logger,
      });
      const commands = new CommandPublisher(broker, authority.commandSigner(), ctx.store.audit);
      const lifecycle = new DeviceLifecycle(ctx.store, authority, { kicker: broker, commander: commands });
      const hub: RunningHub = {
        config,
        ctx,
        logger,
        registry,
        authority,
        influx,
        broker,
        commands,
        lifecycle,
        mqttPort: 0,
        now: this.now,
        checks: new DeploymentChecks(() => ({
          config,
          store: ctx.store,
          keyring: ctx.keyring,
          masterKey: ctx.masterKey,
          authority,
          influx,
          now: Date.now(),
          live: liveHubInProcess(config, { mqttPort: hub.mqttPort, apiPort: this.apiPort }, () =>
            broker.liveSessions(),
          ),
        })),
      };
      this.running = hub;

      if (this.plugins.createIntake) {
        const intake = await this.plugins.createIntake(hub);
        broker.setIntake(intake);
        this.stops.push(() => intake.stop?.());
      }
      authority.onRevocationListChange(() => broker.updateCrl(authority.tlsRevocationPem()));
      const mqttPort = await broker.start({ host: config.bind, port: config.mqttPort });
      hub.mqttPort = mqttPort;
      this.stops.push(async () => {
        commands.close();
        await broker.stop();
      });

      let apiPort: number | null = null;
      if (this.plugins.startApi) {
        const api = await this.plugins.startApi(hub);
        apiPort = api.port;
        this.apiPort = api.port;
        authority.useApiPort(api.port); // VITALGATE_API_PORT=0: certificates name the bound port
        this.stops.push(() => api.stop());
      }

      const stopPush = startPushToEhr(hub); // only when ehrPushUrl is set
      if (stopPush) this.stops.push(stopPush);
      this.watchSharedState(hub);
      this.stops.push(startOperatorServices(hub));
      this.monitorBehaviour(hub);
      const ready: HubReady = { ready: true, mqttPort, apiPort, influxUrl };
      this.scheduleChecks(hub);
      const backups = new BackupSchedule({
        config,
        store: ctx.store,
        masterKey: ctx.masterKey.key,
        onError: (err) => logger.error({ err }, 'scheduled backup failed'),
      });
      backups.start();
      this.stops.push(() => backups.stop());
      this.timers.push(startRetention(ctx.store, config, logger)); // prunes now, then hourly
      const stateFile = join(config.dataDir, HUB_STATE_FILE);
      writeFileSync(
        stateFile,
        JSON.stringify({ pid: process.pid, ...ready, startedAt: new Date().toISOString() }),
      );
      this.stops.push(() => rmSync(stateFile, { force: true }));
      ctx.store.audit.append({
        actor: 'system',
        action: 'hub.start',
        outcome: 'success',
        details: { mqttPort, apiPort },
      });
      return ready;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Graceful stop, in reverse start order. Safe to call twice. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.running) {
      try {
        this.running.ctx.store.audit.append({ actor: 'system', action: 'hub.stop', outcome: 'success' });
      } catch {
        // the store may already be closed
      }
    }
    this.running = undefined;
    while (this.stops.length > 0) {
      const stop = this.stops.pop()!;
      try {
        await stop();
      } catch (err) {
        this.logger.error({ err: describeError(err) }, 'error while stopping');
      }
    }
  }

  /** Device behaviour (each VITALGATE_BEHAVIOUR_WINDOW_SECONDS) and staff access (each VITALGATE_STAFF_SCAN_SECONDS) monitoring. */
  private monitorBehaviour(hub: RunningHub): void {
    const monitor = new DeviceBehaviourMonitor({
      config: hub.config,
      store: hub.ctx.store,
      lifecycle: hub.lifecycle,
      counters: () => hub.broker.metrics.snapshots(),
    });
    hub.behaviour = monitor;
    const staff = new StaffAccessMonitor(hub.ctx.store);
    const timer = setInterval(() => {
      monitor
        .tick()
        .catch((err: unknown) => hub.logger.error({ err: describeError(err) }, 'behaviour monitor failed'));
    }, hub.config.behaviourWindowSeconds * 1000);
    const staffTimer = setInterval(() => {
      try {
        staff.scan();
      } catch (err) {
        hub.logger.error({ err: describeError(err) }, 'staff access monitor failed');
      }
    }, hub.config.staffScanSeconds * 1000);
    for (const t of [timer, staffTimer]) {
      t.unref();
      this.timers.push(t);
    }
  }

  /** Runs the deployment checks on a schedule (history kept; critical failures raise events). */
  private scheduleChecks(hub: RunningHub): void {
    if (hub.config.checksIntervalMinutes === 0) return;
    const run = () => hub.checks.run('system:schedule');
    const timer = setInterval(() => {
      run().catch((err: unknown) => hub.logger.error({ err: describeError(err) }, 'scheduled checks failed'));
    }, hub.config.checksIntervalMinutes * 60_000);
    timer.unref();
    this.timers.push(timer);
  }

  /**
   * The CLI writes to the same data dir: a new CRL or a device status change made there must reach
   * the broker. Polled each second (one indexed read each); CRL freshness and renewal grace
   * expiry each minute.
   */
  private watchSharedState(hub: RunningHub): void {
    const { authority, broker, ctx, logger } = hub;
    let crlNumber = authority.publishedRevocationNumber();
    this.timers.push(
      setInterval(() => {
        try {
          const published = authority.publishedRevocationNumber();
          if (published !== crlNumber) {
            crlNumber = published;
            authority.reloadPublishedRevocationList();
          }
          for (const session of broker.liveSessions()) {
            const device = ctx.store.devices.get(session.deviceId);
            if (device?.status !== 'active') broker.kick(session.deviceId, device?.status ?? 'removed');
          }
          // Bindings and bound devices changed by the CLI reach connected gateways within a second.
          broker.refreshGateways();
        } catch (err) {
          logger.error({ err: describeError(err) }, 'shared state watch failed');
        }
      }, 1_000),
      setInterval(() => {
        void (async () => {
          await authority.retireSupersededCertificates();
          await authority.currentRevocationList();
        })().catch((err: unknown) => logger.error({ err: describeError(err) }, 'CRL refresh failed'));
      }, 60_000),
    );
    for (const t of this.timers) t.unref();
  }
}
