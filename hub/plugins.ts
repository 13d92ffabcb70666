// The layers the hub runs on top of the broker: the durable ingest pipeline behind
// authorizePublish, and the HTTPS API. Kept here so hub/main.ts stays the same when a layer is
// added.
import { buildApiServer } from '../dashboard-api/server.js';
import { InfluxTelemetryReader } from '../dashboard-api/telemetry/influx-reader.js';
import { liveFeedFromBus } from '../dashboard-api/telemetry/live-feed.js';
import { IngestPipeline } from '../ingest/pipeline.js';
import { rollupsSince } from '../ingest/rollup-sealing.js';
import type { HubPlugins } from './main.js';

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
    const telemetry = new InfluxTelemetryReader(hub.influx, hub.ctx.keyring, {
      rollupsSince: () => rollupsSince(hub.ctx.store.meta),
    });
    const api = await buildApiServer({
      config: hub.config,
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
      alertSettingsChanged: (patientId) => hub.ingest?.alertSettings.forget(patientId),
      mqttEndpoint: { host: hub.config.publicHost, port: hub.mqttPort },
      readiness: [
        { name: 'influxdb', check: async () => ((await hub.influx.ping()) ? true : 'unreachable') },
        { name: 'broker', check: () => (hub.mqttPort > 0 ? true : 'not listening') },
        {
          name: 'spool',
          check: () => (hub.ingest && hub.ingest.spool.isFull ? 'spool full' : true),
        },
      ],
    });
    await api.listen({ host: hub.config.bind, port: hub.config.apiPort });
    const address = api.server.address();
    return {
      port: typeof address === 'object' && address ? address.port : hub.config.apiPort,
      stop: async () => {
        await api.close();
        await telemetry.close();
      },
    };
  },
};
