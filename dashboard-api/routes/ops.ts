// Liveness, readiness and Prometheus metrics. /healthz and /readyz answer anyone with booleans
// and dependency names only; /metrics answers the metrics networks (loopback by default).
import { NetworkPolicy } from '../../core/cidr.js';
import { VitalGateError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';

export function registerOpsRoutes(app: ApiApp, ctx: ApiContext): void {
  const metricsNetworks = new NetworkPolicy(ctx.deps.metricsNetworks ?? ['127.0.0.0/8', '::1/128']);
  const tags = ['ops'];

  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { tags, summary: 'Liveness.', security: [] } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: { tags, summary: 'Readiness of InfluxDB, the spool and the broker.', security: [] },
    },
    async (_request, reply) => {
      const checks: Record<string, { ready: boolean; reason?: string }> = {};
      for (const probe of ctx.deps.readiness ?? []) {
        let answer: true | string;
        try {
          answer = await probe.check();
        } catch {
          answer = 'probe failed';
        }
        checks[probe.name] = answer === true ? { ready: true } : { ready: false, reason: answer };
      }
      const ready = Object.values(checks).every((c) => c.ready);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: 'public' },
      schema: { tags, summary: 'Prometheus metrics (metrics networks only).', security: [] },
    },
    async (request, reply) => {
      if (!metricsNetworks.allows(request.ip)) {
        throw new VitalGateError('FORBIDDEN', 'metrics are not served to this network');
      }
      const registry = ctx.deps.registry;
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
}
