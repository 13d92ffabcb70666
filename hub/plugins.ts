// The layers the hub runs on top of the broker: the durable ingest pipeline behind
// authorizePublish, and the HTTPS API. Kept here so hub/main.ts stays the same when a layer is
// added.
import { AlertLifecycle } from '../care/alert-lifecycle.js';
import { DeviceWatch } from '../care/device-watch.js';
import { Escalation } from '../care/escalation.js';
import { PushNotifier } from '../care/push-notifications.js';
import { describeError } from '../core/errors.js';
import { buildApiServer } from '../dashboard-api/server.js';
import { InfluxTelemetryReader } from '../dashboard-api/telemetry/influx-reader.js';
import { InfluxSensedDays } from '../rpm/sensed-days-source.js';
import { HourlyCompaction } from '../dashboard-api/telemetry/hourly-compaction.js';
import { liveFeedFromBus } from '../dashboard-api/telemetry/live-feed.js';
import { IngestPipeline } from '../ingest/pipeline.js';
import { rollupsSince } from '../ingest/rollup-sealing.js';
import type { HubPlugins } from './main.js';
import { pushMessageEscalations } from './message-push.js';

const SNOOZE_TICK_MS = 5_000;

export const HUB_PLUGINS: HubPlugins = {
  async createIntake(hub) {
    const pipeline = new IngestPipeline({
      config: hub.config,
      store: hub.ctx.store,
      keyring: hub.ctx.keyring,
      influx: hub.influx,
      registry: hub.registry,
      logger: hub.logger,
    });
    pipeline.start();
    hub.ingest = pipeline;
    return {
      accept: (device, payload) => pipeline.accept(device, payload),
      acceptStatus: (device, payload) => pipeline.acceptStatus(device, payload),
      stop: () => pipeline.stop(),
    };
  },

  async startApi(hub) {
    // Silent devices, snooze ends and escalation steps are checked every few seconds (the margin
    // on a device's cadence); all are minutes apart.
    const alertLifecycle = hub.ingest
      ? new AlertLifecycle({ store: hub.ctx.store, keyring: hub.ctx.keyring, bus: hub.ingest.bus })
      : undefined;
    const escalation = alertLifecycle
      ? new Escalation({ store: hub.ctx.store, lifecycle: alertLifecycle })
      : undefined;
    const pushNotifier =
      alertLifecycle && escalation
        ? new PushNotifier({
            store: hub.ctx.store,
            keyring: hub.ctx.keyring,
            escalation,
            lifecycle: alertLifecycle,
            contact: hub.config.pushContact ?? `https://${hub.config.publicHost}`,
            serviceHosts: hub.config.pushServiceHosts,
            logger: hub.logger,
          })
        : undefined;
    const deviceWatch = hub.ingest
      ? new DeviceWatch({ store: hub.ctx.store, bus: hub.ingest.bus, logger: hub.logger })
      : undefined;
    const snoozeTimer = alertLifecycle
      ? setInterval(() => {
          try {
            deviceWatch?.tick();
            alertLifecycle.tick();
            escalation?.tick();
            pushNotifier?.tick();
          } catch (err) {
            hub.logger.error(
              { err: describeError(err) },
              'device alarms, snooze ends, escalation steps or push retries failed',
            );
          }
        }, SNOOZE_TICK_MS).unref()
      : undefined;
    const telemetry = new InfluxTelemetryReader(hub.influx, hub.ctx.keyring, {
      rollupsSince: () => rollupsSince(hub.ctx.store.meta),
    });
    // Hourly rollups ahead of the readers (long charts, the summary's day).
    const compaction = new HourlyCompaction({
      reader: telemetry,
      patients: () =>
        hub.ctx.store.patients
          .list()
          .filter((p) => p.erasedAt === null)
          .map((p) => p.id),
      onFailures: (patients) =>
        hub.logger.warn(
          { patients },
          'hourly rollups not written for some patients; their long charts read the minutes',
        ),
    });
    compaction.start();
    const api = await buildApiServer({
      config: hub.config,
      primeSummaries: true,
      store: hub.ctx.store,
      keyring: hub.ctx.keyring,
      authority: hub.authority,
      lifecycle: hub.lifecycle,
      registry: hub.registry,
      telemetry,
      live: hub.ingest ? liveFeedFromBus(hub.ingest.bus) : { subscribe: () => () => {} },
      checks: { latest: () => hub.checks.latest(), run: (actor) => hub.checks.run(actor) },
      kicker: hub.broker,
      deviceActivity: {
        activityOf: (id) => {
          const seen = hub.broker.metrics.snapshot(id);
          return {
            connected: hub.broker.isConnected(id),
            lastSeen: seen?.lastSeen ?? null,
            lastSourceAddress: seen?.lastSourceAddress ?? null,
          };
        },
      },
      commands: hub.commands,
      logger: hub.logger,
      now: hub.now,
      alertSettingsChanged: (patientId) => hub.ingest?.alertSettings.forget(patientId),
      ...(alertLifecycle ? { alertLifecycle } : {}),
      ...(pushNotifier ? { pushNotifier } : {}),
      mqttEndpoint: { host: hub.config.publicHost, port: hub.mqttPort },
      rpmDays: new InfluxSensedDays(hub.influx, hub.ctx.keyring),
      readiness: [
        { name: 'influxdb', check: async () => ((await hub.influx.ping()) ? true : 'unreachable') },
        { name: 'broker', check: () => (hub.mqttPort > 0 ? true : 'not listening') },
        {
          name: 'spool',
          check: () => (hub.ingest && hub.ingest.spool.isFull ? 'spool full' : true),
        },
      ],
    });
    hub.messaging = api.apiContext.messaging;
    const stopMessagePush = pushNotifier
      ? pushMessageEscalations(api.apiContext.messaging.feed, pushNotifier, hub.logger)
      : undefined;
    // Message retention and urgent-message escalation (both are minutes apart), every
    // VITALGATE_MESSAGE_SWEEP_SECONDS (15 s by default).
    const messagingTimer = setInterval(() => {
      try {
        api.apiContext.messaging.tick();
      } catch (err) {
        hub.logger.error({ err: describeError(err) }, 'message retention or escalation failed');
      }
    }, hub.config.messageSweepSeconds * 1000).unref();
    await api.listen({ host: hub.config.bind, port: hub.config.apiPort });
    const address = api.server.address();
    return {
      port: typeof address === 'object' && address ? address.port : hub.config.apiPort,
      stop: async () => {
        clearInterval(snoozeTimer);
        clearInterval(messagingTimer);
        stopMessagePush?.();
        await pushNotifier?.close();
        escalation?.close();
        deviceWatch?.close();
        alertLifecycle?.close();
        await api.close();
        await compaction.stop();
        await telemetry.close();
      },
    };
  },
};
