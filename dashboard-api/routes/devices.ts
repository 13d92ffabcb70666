// Devices (admin, engineer): register, enrollment tokens, patient binding, the lifecycle verbs
// (each needing a reason), and the signed ping and config commands. Lifecycle goes through
// DeviceLifecycle, which the hub builds with the broker (live sessions end at once) and the
// signed command path (wipe, disable).
import { z } from 'zod';
import type { LifecycleAction } from '../../pki/lifecycle.js';
import { requireStepUp } from '../auth/step-up.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { cidrList, deviceKind, deviceParams, deviceId, deviceStatus, patientId, reason } from '../schemas.js';
import { deviceView } from '../services/device-registry.js';

const LIFECYCLE: readonly LifecycleAction[] = ['revoke', 'disable', 'enable', 'quarantine', 'wipe'];

export function registerDeviceRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['devices'];
  const actor = (r: { principal?: { username: string } }) => `user:${r.principal!.username}`;

  app.get(
    '/devices',
    {
      config: { access: 'devices.read' },
      schema: {
        tags,
        summary:
          'Registered devices, each with its current certificate’s expiry and what the broker knows now: a live session (`connected`), last seen and from which address (null when unknown).',
        querystring: z.object({ status: deviceStatus.optional(), patientId: patientId.optional() }).strict(),
      },
    },
    async (request) =>
      ctx.store.devices
        .list({
          ...(request.query.status ? { status: request.query.status } : {}),
          ...(request.query.patientId ? { patientId: request.query.patientId } : {}),
        })
        .map((d) => {
          const cert = d.currentSerial ? ctx.store.certificates.get(d.currentSerial) : undefined;
          const seen = ctx.deps.deviceActivity?.activityOf(d.id);
          return {
            ...deviceView(d),
            certificateExpiresAt: cert ? new Date(cert.notAfter).toISOString() : null,
            connected: seen ? seen.connected : null,
            lastSeen: seen?.lastSeen ? new Date(seen.lastSeen).toISOString() : null,
            lastAddress: seen?.lastSourceAddress ?? null,
          };
        }),
  );

  app.post(
    '/devices',
    {
      config: { access: 'devices.manage' },
      schema: {
        tags,
        summary: 'Registers a device; it is pending until it enrolls.',
        body: z
          .object({
            id: deviceId,
            kind: deviceKind,
            model: z
              .string()
              .regex(/^[A-Za-z0-9 ._-]{1,64}$/)
              .optional(),
            patientId: patientId.optional(),
            allowedNetworks: cidrList.optional(),
          })
          .strict(),
      },
    },
    async (request, reply) =>
      reply.status(201).send(deviceView(ctx.devices.register(request.body, actor(request), request.ip))),
  );

  app.get(
    '/devices/:id',
    {
      config: { access: 'devices.read' },
      schema: { tags, summary: 'One device with its certificates.', params: deviceParams },
    },
    async (request) => {
      const device = ctx.store.devices.require(request.params.id);
      return {
        ...deviceView(device),
        certificates: ctx.store.certificates.listForDevice(device.id).map((c) => ({
          serial: c.serial,
          status: c.status,
          notBefore: new Date(c.notBefore).toISOString(),
          notAfter: new Date(c.notAfter).toISOString(),
          revocationReason: c.revocationReason,
        })),
      };
    },
  );

  app.post(
    '/devices/:id/enrollment-token',
    {
      config: { access: 'devices.manage' },
      schema: {
        tags,
        summary: 'Issues a one-time enrollment token; it is shown once and stored only as a hash.',
        params: deviceParams,
        body: z
          .object({ ttlHours: z.number().int().min(1).max(720).optional() })
          .strict()
          .nullish(),
        response: { 201: z.object({ deviceId: z.string(), token: z.string(), expiresAt: z.string() }) },
      },
    },
    async (request, reply) => {
      const ttl = request.body?.ttlHours;
      const issued = ctx.devices.issueToken(
        request.params.id,
        ttl ? ttl * 3_600_000 : undefined,
        actor(request),
      );
      return reply.status(201).send({
        deviceId: issued.deviceId,
        token: issued.token,
        expiresAt: new Date(issued.expiresAt).toISOString(),
      });
    },
  );

  app.put(
    '/devices/:id/patient',
    {
      config: { access: 'devices.manage' },
      schema: {
        tags,
        summary: 'Binds the device to a patient; its live session ends so new readings use the new binding.',
        params: deviceParams,
        body: z.object({ patientId }).strict(),
      },
    },
    async (request) =>
      deviceView(ctx.devices.bind(request.params.id, request.body.patientId, actor(request), request.ip)),
  );

  app.delete(
    '/devices/:id/patient',
    {
      config: { access: 'devices.manage' },
      schema: { tags, summary: 'Unbinds the device from its patient.', params: deviceParams },
    },
    async (request) => deviceView(ctx.devices.unbind(request.params.id, actor(request), request.ip)),
  );

  const ttlSeconds = z.number().int().min(1).max(300).optional();
  const commandResult = z.object({
    deviceId: z.string(),
    type: z.enum(['ping', 'config']),
    commandId: z.string(),
    outcome: z.enum(['acked', 'rejected', 'expired', 'not_connected']),
    detail: z.string().optional(),
  });
  const ttlMs = (s: number | undefined) => (s === undefined ? undefined : s * 1000);

  app.post(
    '/devices/:id/ping',
    {
      config: { access: 'devices.manage' },
      schema: {
        tags,
        summary:
          'Sends a signed ping and waits for the ack (or the expiry, `ttlSeconds`, default 60); audited.',
        params: deviceParams,
        body: z.object({ ttlSeconds }).strict().nullish(),
        response: { 200: commandResult },
      },
    },
    async (request) =>
      ctx.deviceCommands.send(
        request.params.id,
        { type: 'ping' },
        actor(request),
        ttlMs(request.body?.ttlSeconds),
      ),
  );

  app.post(
    '/devices/:id/config',
    {
      config: { access: 'devices.manage' },
      schema: {
        tags,
        summary:
          'Sends a signed config command with device settings (statusIntervalS: 10 to 86400) and waits for the ack or the expiry; audited.',
        params: deviceParams,
        body: z.object({ settings: z.record(z.string().max(64), z.number()), ttlSeconds }).strict(),
        response: { 200: commandResult },
      },
    },
    async (request) =>
      ctx.deviceCommands.send(
        request.params.id,
        { type: 'config', settings: request.body.settings },
        actor(request),
        ttlMs(request.body.ttlSeconds),
      ),
  );

  for (const action of LIFECYCLE) {
    app.post(
      `/devices/:id/${action}`,
      {
        config: { access: 'devices.manage' },
        schema: {
          tags,
          summary: `Lifecycle: ${action} (a reason is required; audited; the broker enforces it at once).`,
          params: deviceParams,
          body: z.object({ reason }).strict(),
        },
      },
      async (request) => {
        if (action === 'wipe' || action === 'revoke') {
          requireStepUp(request.principal!, ctx.now(), `patient_device_${action}`);
        }
        return ctx.deps.lifecycle.apply(
          request.params.id,
          action,
          request.body.reason,
          actor(request),
          request.ip,
        );
      },
    );
  }
}
