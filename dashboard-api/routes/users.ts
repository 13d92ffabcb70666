// Staff accounts (admin): the same UserDirectory the `vitalgate user` commands use.
import { z } from 'zod';
import { ROLES } from '../../core/domain.js';
import { ROLE_PERMISSIONS } from '../access/policy.js';
import type { Principal } from '../auth/sessions.js';
import { requireStepUp } from '../auth/step-up.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { reason, role, userParams, username } from '../schemas.js';

const userView = z.object({
  username: z.string(),
  role: z.string(),
  mfaEnrolled: z.boolean(),
  mustChangePassword: z.boolean(),
  locked: z.boolean(),
  disabled: z.boolean(),
  createdAt: z.string(),
});

export function registerUserRoutes(app: ApiApp, ctx: ApiContext): void {
  const actor = (r: { principal?: { username: string } }) => `user:${r.principal!.username}`;
  const tags = ['users'];
  /** Account and role changes need a fresh second factor of the admin making them. */
  const stepUp = (r: { principal?: Principal }) => requireStepUp(r.principal!, ctx.now(), 'user_change');

  app.get(
    '/users',
    {
      config: { access: 'users.manage' },
      schema: { tags, summary: 'Staff accounts.', response: { 200: z.array(userView) } },
    },
    async () => ctx.users.list(),
  );

  app.post(
    '/users',
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary:
          'Creates an account; its one-time password is shown once and must be changed at first login.',
        body: z.object({ username, role }).strict(),
        response: { 201: z.object({ username: z.string(), oneTimePassword: z.string() }) },
      },
    },
    async (request, reply) => {
      stepUp(request);
      const created = await ctx.users.create(
        request.body.username,
        request.body.role,
        actor(request),
        request.ip,
      );
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/roles',
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary: 'The roles, what each may do (the API’s own permission table), and who holds each.',
        response: {
          200: z.array(
            z.object({ role: z.string(), permissions: z.array(z.string()), users: z.array(z.string()) }),
          ),
        },
      },
    },
    async () => {
      const users = ctx.users.list();
      return ROLES.map((r) => ({
        role: r,
        permissions: [...ROLE_PERMISSIONS[r]],
        users: users.filter((u) => u.role === r).map((u) => u.username),
      }));
    },
  );

  app.get(
    '/users/:username',
    {
      config: { access: 'users.manage' },
      schema: { tags, summary: 'One account.', params: userParams, response: { 200: userView } },
    },
    async (request) => ctx.users.get(request.params.username),
  );

  app.post(
    '/users/:username/disable',
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary: 'Disables an account and ends its sessions and break-glass grants at once.',
        params: userParams,
        body: z.object({ reason }).strict(),
        response: { 200: userView },
      },
    },
    async (request) => {
      stepUp(request);
      return ctx.users.disable(request.params.username, request.body.reason, actor(request), request.ip);
    },
  );

  app.post(
    '/users/:username/enable',
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary: 'Enables a disabled account.',
        params: userParams,
        response: { 200: userView },
      },
    },
    async (request) => {
      stepUp(request);
      return ctx.users.enable(request.params.username, actor(request), request.ip);
    },
  );

  app.post(
    '/users/:username/unlock',
    {
      config: { access: 'users.manage' },
      schema: { tags, summary: 'Lifts a lockout.', params: userParams, response: { 200: userView } },
    },
    async (request) => {
      stepUp(request);
      return ctx.users.unlock(request.params.username, actor(request), request.ip);
    },
  );

  app.post(
    '/users/:username/reset-password',
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary: 'A new one-time password (shown once); ends the account’s sessions.',
        params: userParams,
        response: { 200: z.object({ username: z.string(), oneTimePassword: z.string() }) },
      },
    },
    async (request) => {
      stepUp(request);
      return ctx.users.resetPassword(request.params.username, actor(request), request.ip);
    },
  );

  app.post(
    '/users/:username/reset-mfa',
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary: 'Forgets the TOTP secret; the next login enrolls a new one.',
        params: userParams,
        response: { 200: userView },
      },
    },
    async (request) => {
      stepUp(request);
      return ctx.users.resetMfa(request.params.username, actor(request), request.ip);
    },
  );
}
