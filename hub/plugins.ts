// The layers the hub runs on top of the broker: the durable ingest pipeline behind
// authorizePublish, and (when present) the HTTPS API. Kept here so hub/main.ts stays the same
// when a layer is added.
import { IngestPipeline } from '../ingest/pipeline.js';
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
};
