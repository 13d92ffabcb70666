// Passkeys and step-up (docs/API.md#passkeys-and-step-up): sign in with a passkey, list, register,
// rename and remove one's own passkeys, and step up a session with a passkey or an
// authenticator code. Registering or removing a passkey is itself a sensitive change, so it
// needs a fresh step-up (a stolen session cannot plant a passkey of its own).
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import { ApiSessionRepository } from '../../core/store/api-sessions.js';
import type { Principal } from '../auth/sessions.js';
import { requireStepUp } from '../auth/step-up.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { sessionReply, sessionView } from './auth.js';

const b64url = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*$/, 'expected base64url');
const extensionResults = z.record(z.string().max(64), z.unknown()).default({});
const transports = z.array(z.string().max(20)).max(10).optional();
const attachment = z.enum(['platform', 'cross-platform']).optional();

/** The fields both ceremonies' answers share (`PublicKeyCredential.toJSON()`). */
const credentialFields = {
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  authenticatorAttachment: attachment,
  clientExtensionResults: extensionResults,
};

/** What `navigator.credentials.create()` answers, as JSON. */
const registrationResponse = z.object({
  ...credentialFields,
  response: z.object({
    clientDataJSON: b64url,
    attestationObject: b64url,
    authenticatorData: b64url.optional(),
    transports,
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url.optional(),
  }),
});

/** What `navigator.credentials.get()` answers, as JSON. */
const authenticationResponse = z.object({
  ...credentialFields,
  response: z.object({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
});

const passkeyName = z.string().trim().min(1).max(60);
const passkeyParams = z
  .object({ id: z.string().regex(/^pk_[A-Za-z0-9_-]{8,40}$/, 'not a passkey id') })
  .strict();
const passkeyView = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  synced: z.boolean(),
  flagged: z.boolean(),
});
/** Ceremony options for `navigator.credentials` (WebAuthn's JSON shape). */
const ceremonyOptions = z.looseObject({ challenge: z.string() });
const stepUpView = z.object({ steppedUpAt: z.string(), validUntil: z.string() });

export function registerPasskeyRoutes(app: ApiApp, ctx: ApiContext): void {
  const authLimit = { max: ctx.deps.rateLimits?.authPerMinute ?? 20, timeWindow: 60_000 };
  const tags = ['passkeys'];
  const sessionRepo = new ApiSessionRepository(ctx.store.db);
  const ceremony = (request: { ip: string; socket: { localPort?: number } }) => ({
    port: request.socket.localPort ?? ctx.config.apiPort,
    source: request.ip,
  });
  const stepUpReply = (p: Principal, at: number) => ({
    steppedUpAt: new Date(at).toISOString(),
    validUntil: new Date(at + p.stepUpMaxAgeSeconds * 1000).toISOString(),
  });

  app.post(
    '/auth/passkey/options',
    {
      config: { access: 'public', rateLimit: authLimit },
      schema: {
        tags,
        summary: 'Starts a passkey sign-in: WebAuthn request options with a single-use challenge (2 min).',
        security: [],
        response: { 200: ceremonyOptions },
      },
    },
    async () => ({ ...(await ctx.passkeys.signInOptions()) }),
  );

  app.post(
    '/auth/passkey',
    {
      config: { access: 'public', rateLimit: authLimit },
      schema: {
        tags,
        summary:
          'Signs in with a passkey (user verification required); the session counts as stepped up now.',
        security: [],
        body: z.object({ response: authenticationResponse }).strict(),
        response: { 200: sessionView },
      },
    },
    async (request, reply) => {
      try {
        return sessionReply(ctx, reply, await ctx.passkeys.signIn(request.body.response, ceremony(request)));
      } catch (err) {
        ctx.metrics.logins.inc({ outcome: 'refused' });
        throw err;
      }
    },
  );

  app.get(
    '/auth/passkeys',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'The signed-in user’s passkeys, and whether their role requires one.',
        response: { 200: z.object({ passkeys: z.array(passkeyView), required: z.boolean() }) },
      },
    },
    async (request) => {
      const p = request.principal!;
      return {
        passkeys: ctx.passkeys.list(p.username),
        required: (ctx.config.passkeyRequiredRoles as readonly string[]).includes(p.role),
      };
    },
  );

  app.post(
    '/auth/passkeys/options',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Starts registering a passkey (needs a fresh step-up): WebAuthn creation options.',
        response: { 200: ceremonyOptions },
      },
    },
    async (request) => {
      const p = request.principal!;
      requireStepUp(p, ctx.now(), 'passkey_change');
      return { ...(await ctx.passkeys.registrationOptions(p)) };
    },
  );

  app.post(
    '/auth/passkeys',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Registers a passkey from the authenticator’s answer (needs a fresh step-up).',
        body: z.object({ response: registrationResponse, name: passkeyName }).strict(),
        response: { 201: passkeyView },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      requireStepUp(p, ctx.now(), 'passkey_change');
      const staffDeviceId = sessionRepo.staffDeviceOf(p.sessionHash);
      const created = await ctx.passkeys.register(p, request.body.response, request.body.name, {
        ...ceremony(request),
        staffDeviceId,
      });
      return reply.status(201).send(created);
    },
  );

  app.patch(
    '/auth/passkeys/:id',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Renames one of the user’s passkeys.',
        params: passkeyParams,
        body: z.object({ name: passkeyName }).strict(),
        response: { 200: passkeyView },
      },
    },
    async (request) => ctx.passkeys.rename(request.principal!, request.params.id, request.body.name),
  );

  app.delete(
    '/auth/passkeys/:id',
    {
      config: { access: 'self' },
      schema: {
        tags,
        summary: 'Removes one of the user’s passkeys (needs a fresh step-up); it signs no one in again.',
        params: passkeyParams,
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      requireStepUp(p, ctx.now(), 'passkey_change');
      ctx.passkeys.remove(p, request.params.id, request.ip);
      return reply.status(204).send();
    },
  );

  app.post(
    '/auth/step-up/options',
    {
      config: { access: 'self', rateLimit: authLimit },
      schema: {
        tags,
        summary: 'Starts a step-up with one of the user’s passkeys: WebAuthn request options.',
        response: { 200: ceremonyOptions },
      },
    },
    async (request) => ({ ...(await ctx.passkeys.stepUpOptions(request.principal!)) }),
  );

  app.post(
    '/auth/step-up',
    {
      config: { access: 'self', rateLimit: authLimit },
      schema: {
        tags,
        summary:
          'Steps the session up with a fresh second factor: an authenticator code or a passkey assertion.',
        body: z
          .object({
            code: z
              .string()
              .regex(/^\d{6}$/, 'expected 6 digits')
              .optional(),
            passkey: authenticationResponse.optional(),
          })
          .strict(),
        response: { 200: stepUpView },
      },
    },
    async (request) => {
      const p = request.principal!;
      const { code, passkey } = request.body;
      if ((code === undefined) === (passkey === undefined)) {
        throw new VitalGateError('VALIDATION_FAILED', 'send either code or passkey', { field: 'code' });
      }
      const at = passkey
        ? await ctx.passkeys.stepUp(p, passkey, ceremony(request))
        : ctx.totpStepUp.stepUp(p, code!, request.ip);
      return stepUpReply(p, at);
    },
  );
}
