// Gateways (admin, engineer): which Bluetooth devices each gateway may relay readings for
// (docs/GATEWAYS.md). A gateway itself is a device of kind `gateway`, registered, enrolled and
// put through its lifecycle under /devices like any other.
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { deviceId } from '../schemas.js';

const binding = z.object({
  gatewayId: z.string(),
  deviceId: z.string(),
  kind: z.string(),
  status: z.string(),
  patientId: z.string().nullable(),
  systemId: z.string().nullable(),
  serial: z.string().nullable(),
  boundAt: z.string(),
  boundBy: z.string(),
  clockDriftMs: z.number().nullable(),
});

export function registerGatewayRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['gateways'];
  const actor = (r: { principal?: { username: string } }) => `user:${r.principal!.username}`;
  const gatewayParams = z.object({ id: deviceId }).strict();

  app.get(
    '/gateways/bindings',
    {
      config: { access: 'devices.read' },
      schema: {
        tags,
        summary:
          'Every binding of a device to a gateway, with the pinned identity and the last clock drift seen.',
        response: { 200: z.array(binding) },
      },
    },
    async () => ctx.gateways.list(),
  );

  app.get(
    '/gateways/:id/devices',
    {
      config: { access: 'devices.read' },
      schema: {
        tags,
        summary: 'The devices bound to one gateway (GATEWAY_NOT_FOUND, NOT_A_GATEWAY).',
        params: gatewayParams,
        response: { 200: z.array(binding) },
      },
    },
    async (request) => ctx.gateways.list(request.params.id),
  );

  app.post(
    '/gateways/:id/devices',
    {
      config: { access: 'devices.manage' },
      schema: {
        tags,
        summary:
          'Binds a device to the gateway (replacing any other gateway; audited). `systemId` (IEEE EUI-64 or Bluetooth address) and `serial` pin the measuring device; without them its first accepted reading pins it.',
        params: gatewayParams,
        body: z
          .object({
            deviceId,
            systemId: z.string().max(32).optional(),
            serial: z.string().max(64).optional(),
          })
          .strict(),
        response: { 201: binding },
      },
    },
    async (request, reply) => {
      const { deviceId: dev, systemId, serial } = request.body;
      const view = ctx.gateways.bind(
        request.params.id,
        dev,
        { systemId, serial },
        actor(request),
        request.ip,
      );
      return reply.status(201).send(view);
    },
  );

  app.delete(
    '/gateways/:id/devices/:deviceId',
    {
      config: { access: 'devices.manage' },
      schema: {
        tags,
        summary:
          'Unbinds a device from the gateway (audited): its readings through the gateway are refused at once (GATEWAY_BINDING_NOT_FOUND).',
        params: z.object({ id: deviceId, deviceId }).strict(),
        response: { 200: binding },
      },
    },
    async (request) =>
      ctx.gateways.unbind(request.params.id, request.params.deviceId, actor(request), request.ip),
  );
}
