// Staff devices (every browser or app a staff member signed in from): a user lists, renames and
// marks lost their own; an admin lists everyone's and marks any lost. "Sign out everywhere" ends
// every session of the signed-in user, or, for an admin, of a user who leaves.
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import { SESSION_COOKIE, type ApiApp } from '../server.js';
import type { ApiContext } from '../context.js';
import { userParams, username } from '../schemas.js';

const deviceParams = z
  .object({
    id: z
      .string()
      .max(40)
      .regex(/^sdv_[A-Za-z0-9_-]{16}$/, 'not a staff device id'),
  })
  .strict();
const deviceName = z
  .string()
  .trim()
  .min(1)
  .max(60)
  .regex(/^[^\p{C}<>]+$/u, 'letters, digits, spaces and punctuation only');
const lostReason = z.string().trim().min(3).max(200);

const deviceView = z.object({
  id: z.string(),
  username: z.string(),
  name: z.string(),
  userAgentName: z.string(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  lastAddress: z.string().nullable(),
  current: z.boolean(),
  lost: z.object({ at: z.string(), by: z.string(), reason: z.string(), wiped: z.boolean() }).nullable(),
  sessions: z.array(
    z.object({
      startedAt: z.string(),
      lastSeenAt: z.string(),
      expiresAt: z.string(),
      source: z.string().nullable(),
    }),
  ),
});

export function registerStaffDeviceRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['staff devices'];

  app.get(
    '/staff-devices',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary:
          'Staff devices: your own; an admin sees everyone’s (or one user’s with `username`). Each with its live sessions.',
        querystring: z.object({ username: username.optional() }).strict(),
        response: { 200: z.array(deviceView) },
      },
    },
    async (request) => {
      const p = request.principal!;
      const wanted = request.query.username ?? (p.role === 'admin' ? undefined : p.username);
      if (p.role !== 'admin' && wanted !== p.username) {
        ctx.store.audit.append({
          actor: `user:${p.username}`,
          action: 'staff_device.list',
          target: `user:${wanted}`,
          outcome: 'denied',
          source: request.ip,
          details: { code: 'FORBIDDEN' },
        });
        throw new VitalGateError('FORBIDDEN', 'only an administrator sees the devices of other users');
      }
      return ctx.staffDevices.list(p, wanted, request.staffDevice?.id);
    },
  );

  app.put(
    '/staff-devices/:id/name',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Renames one of your devices ("Ward 4 tablet").',
        params: deviceParams,
        body: z.object({ name: deviceName }).strict(),
        response: { 200: deviceView },
      },
    },
    async (request) =>
      ctx.staffDevices.rename(request.principal!, request.params.id, request.body.name, request.ip),
  );

  app.post(
    '/staff-devices/:id/lost',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary:
          'Marks a device lost (yours, or any for an admin): its sessions end at once, its passkeys are revoked, and its next request erases this site’s data in that browser (Clear-Site-Data).',
        params: deviceParams,
        body: z.object({ reason: lostReason.optional() }).strict(),
        response: {
          200: z.object({ device: deviceView, sessionsEnded: z.number(), passkeysRevoked: z.number() }),
        },
      },
    },
    async (request) =>
      ctx.staffDevices.markLost(
        request.principal!,
        request.params.id,
        request.body.reason ?? 'reported lost',
        request.ip,
      ),
  );

  app.post(
    '/auth/sign-out-everywhere',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Ends every session of the signed-in account, on every device (this one too).',
        response: { 200: z.object({ sessionsEnded: z.number() }) },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const { sessionsEnded } = ctx.staffDevices.signOutEverywhere(
        p,
        p.username,
        { markDevicesLost: false, reason: 'signed out everywhere' },
        request.ip,
      );
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { sessionsEnded };
    },
  );

  app.post(
    '/users/:username/sign-out-everywhere',
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary:
          'Admin: ends every session of a user (one who leaves, say); with `markDevicesLost` each of their devices is also marked lost and wipes this site’s data on its next request.',
        params: userParams,
        body: z.object({ reason: lostReason, markDevicesLost: z.boolean().default(false) }).strict(),
        response: { 200: z.object({ sessionsEnded: z.number(), devicesMarkedLost: z.number() }) },
      },
    },
    async (request) => {
      const name = request.params.username;
      if (!ctx.store.users.get(name)) {
        ctx.store.audit.append({
          actor: `user:${request.principal!.username}`,
          action: 'auth.sign_out_everywhere',
          target: `user:${name}`,
          outcome: 'denied',
          source: request.ip,
          details: { code: 'USER_NOT_FOUND' },
        });
        throw new VitalGateError('USER_NOT_FOUND', 'no such user');
      }
      return ctx.staffDevices.signOutEverywhere(
        request.principal!,
        name,
        { markDevicesLost: request.body.markDevicesLost, reason: request.body.reason },
        request.ip,
      );
    },
  );
}
