// Login, MFA, logout and password changes (SPEC §6). Login answers with the next step the
// account owes; the session token comes only from a successful TOTP step.
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../auth/password-policy.js';
import { hasFreshStepUp } from '../auth/step-up.js';
import { hashSessionToken } from '../auth/sessions.js';
import type { ApiContext } from '../context.js';
import { SESSION_COOKIE, type ApiApp } from '../server.js';
import { username } from '../schemas.js';

const password = z
  .string()
  .min(1)
  .max(MAX_PASSWORD_LENGTH * 4);
const challengeId = z
  .string()
  .min(8)
  .max(100)
  .regex(/^vgc_[A-Za-z0-9_-]+$/, 'not a challenge id');

const loginStep = z.object({
  next: z.enum(['password_change', 'mfa_enroll', 'mfa']),
  challengeId: z.string(),
  expiresAt: z.string(),
  totp: z.object({ secret: z.string(), otpauthUri: z.string() }).optional(),
});

const totpCode = z.string().regex(/^\d{6}$/, 'expected 6 digits');

export const sessionView = z.object({
  token: z.string(),
  expiresAt: z.string(),
  idleTimeoutSeconds: z.number(),
  username: z.string(),
});

/** A new session: the token in the body and as the httpOnly cookie. */
export function sessionReply(
  ctx: ApiContext,
  reply: FastifyReply,
  session: { token: string; expiresAt: number; idleTimeoutSeconds: number; username: string },
) {
  ctx.metrics.logins.inc({ outcome: 'session' });
  void reply.setCookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/',
    maxAge: Math.floor((session.expiresAt - ctx.now()) / 1000),
  });
  // The browser or app this session lives on (a staff device), and what is unusual about it.
  ctx.staffDevices.bindSession(reply.request, reply, session.token, session.username);
  const role = ctx.store.users.get(session.username)?.role;
  if (role) {
    const sessionHash = hashSessionToken(session.token);
    ctx.adaptive.signedIn({ username: session.username, role, sessionHash }, reply.request.ip);
  }
  return {
    token: session.token,
    expiresAt: new Date(session.expiresAt).toISOString(),
    idleTimeoutSeconds: session.idleTimeoutSeconds,
    username: session.username,
  };
}

function stepView(step: {
  next: 'password_change' | 'mfa_enroll' | 'mfa';
  challengeId: string;
  expiresAt: number;
  totp?: { secret: string; otpauthUri: string };
}) {
  return { ...step, expiresAt: new Date(step.expiresAt).toISOString() };
}

export function registerAuthRoutes(app: ApiApp, ctx: ApiContext): void {
  const authLimit = { max: ctx.deps.rateLimits?.authPerMinute ?? 20, timeWindow: 60_000 };

  app.post(
    '/auth/login',
    {
      config: { access: 'public', rateLimit: authLimit },
      schema: {
        tags: ['auth'],
        summary:
          'Password step of a login; answers with the next step (password change, MFA enrollment, MFA).',
        security: [],
        body: z.object({ username, password }).strict(),
        response: { 200: loginStep },
      },
    },
    async (request) => {
      try {
        const step = await ctx.login.login(request.body.username, request.body.password, request.ip);
        ctx.metrics.logins.inc({ outcome: 'password_ok' });
        return stepView(step);
      } catch (err) {
        ctx.metrics.logins.inc({ outcome: 'refused' });
        throw err;
      }
    },
  );

  app.post(
    '/auth/login/password',
    {
      config: { access: 'public', rateLimit: authLimit },
      schema: {
        tags: ['auth'],
        summary: 'First-login password change: replaces the one-time password.',
        security: [],
        body: z.object({ challengeId, newPassword: password }).strict(),
        response: { 200: loginStep },
      },
    },
    async (request) =>
      stepView(
        await ctx.login.changeFirstPassword(request.body.challengeId, request.body.newPassword, request.ip),
      ),
  );

  app.post(
    '/auth/mfa',
    {
      config: { access: 'public', rateLimit: authLimit },
      schema: {
        tags: ['auth'],
        summary: 'TOTP step (or enrollment confirmation); yields the session token and an httpOnly cookie.',
        security: [],
        body: z.object({ challengeId, code: totpCode }).strict(),
        response: { 200: sessionView },
      },
    },
    async (request, reply) =>
      sessionReply(ctx, reply, ctx.login.verifyMfa(request.body.challengeId, request.body.code, request.ip)),
  );

  app.post(
    '/auth/unlock',
    {
      config: {
        access: 'public',
        rateLimit: { max: Math.max(1, Math.floor(authLimit.max / 2)), timeWindow: 60_000 },
      },
      schema: {
        tags: ['auth'],
        summary:
          'Both factors at once (password and TOTP code): signs in even while the login throttle refuses this network.',
        security: [],
        body: z.object({ username, password, code: totpCode }).strict(),
        response: { 200: sessionView },
      },
    },
    async (request, reply) => {
      const { body } = request;
      try {
        return sessionReply(
          ctx,
          reply,
          await ctx.login.unlock(body.username, body.password, body.code, request.ip),
        );
      } catch (err) {
        ctx.metrics.logins.inc({ outcome: 'refused' });
        throw err;
      }
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'self' },
      schema: { tags: ['auth'], summary: 'Ends the session at once.' },
    },
    async (request, reply) => {
      const p = request.principal!;
      ctx.sessions.end(p.sessionHash, 'logout', `user:${p.username}`, request.ip);
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send();
    },
  );

  app.get(
    '/auth/session',
    {
      config: { access: 'self' },
      schema: {
        tags: ['auth'],
        summary: 'Who the session belongs to.',
        response: {
          200: z.object({
            username: z.string(),
            role: z.string(),
            expiresAt: z.string(),
            idleTimeoutSeconds: z.number(),
            /** Until when the last step-up counts; null: the session must step up for sensitive actions. */
            stepUpValidUntil: z.string().nullable(),
            /** The role requires passkeys and the user has none: only their own account is open. */
            passkeyRequired: z.boolean(),
          }),
        },
      },
    },
    async (request) => {
      const p = request.principal!;
      return {
        username: p.username,
        role: p.role,
        expiresAt: new Date(p.expiresAt).toISOString(),
        idleTimeoutSeconds: ctx.config.sessionIdleMinutes * 60,
        stepUpValidUntil: hasFreshStepUp(p, ctx.now())
          ? new Date(p.steppedUpAt! + p.stepUpMaxAgeSeconds * 1000).toISOString()
          : null,
        passkeyRequired: ctx.passkeys.mustRegister(p.username, p.role),
      };
    },
  );

  app.post(
    '/auth/password',
    {
      config: { access: 'self', rateLimit: authLimit },
      schema: {
        tags: ['auth'],
        summary: 'Changes the password of the signed-in account.',
        body: z.object({ currentPassword: password, newPassword: password }).strict(),
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      await ctx.login.changePassword(
        p.username,
        request.body.currentPassword,
        request.body.newPassword,
        request.ip,
      );
      return reply.status(204).send();
    },
  );
}
