// The clinician and operator HTTPS API (SPEC §6), on Fastify 5: the hub's server certificate,
// client certificates requested (never required) so renewal and EST simplereenroll can read a
// device's certificate, security headers, rate limits (stricter on auth), zod schemas on every
// route (unknown fields refused, bodies bounded), OpenAPI at /docs, and deny by default: a route
// that does not declare who may reach it refuses to start.
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:https';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
} from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { VitalGateError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { TLS_CIPHERS, TLS_MIN_VERSION } from '../core/tls-policy.js';
import { roleMay, type Permission } from './access/policy.js';
import type { Principal } from './auth/sessions.js';
import { auditStepUpRefusal } from './auth/step-up.js';
import { registerConsole } from './console.js';
import { createApiContext, type ApiContext, type ApiDeps } from './context.js';
import { acceptJsonOnly } from './media-types.js';
import { answerClientError, describeRequestError } from './request-errors.js';
import { toErrorResponse } from './http-errors.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerAlertSettingRoutes } from './routes/alert-settings.js';
import { registerAlertLifecycleRoutes } from './routes/alert-lifecycle.js';
import { registerCareTeamRoutes } from './routes/care-teams.js';
import { registerConversationRoutes } from './routes/conversations.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerStaffDeviceRoutes } from './routes/staff-devices.js';
import { remoteSignOutHook } from './auth/remote-sign-out.js';
import { POSITION_HEADER } from './access/geofence.js';
import { registerBreakGlassRoutes } from './routes/break-glass.js';
import { registerCareSummaryRoutes } from './routes/care-summary.js';
import { registerDeviceRoutes } from './routes/devices.js';
import { registerGatewayRoutes } from './routes/gateways.js';
import { registerEnrollmentRoutes } from './routes/enrollment.js';
import { registerFhirRoutes } from './routes/fhir.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerPasskeyRoutes } from './routes/passkeys.js';
import { registerPatientRoutes } from './routes/patients.js';
import { registerPkiRoutes } from './routes/pki.js';
import { registerPushRoutes } from './routes/push.js';
import { registerRpmLedgerRoutes } from './routes/rpm-ledger.js';
import { registerRpmProgrammeRoutes } from './routes/rpm-programme.js';
import { registerRpmReportRoutes } from './routes/rpm-reports.js';
import { registerTelemetryRoutes } from './routes/telemetry.js';
import { registerUserRoutes } from './routes/users.js';

export type { ApiDeps } from './context.js';

export type ApiApp = FastifyInstance<
  Server,
  RawRequestDefaultExpression<Server>,
  RawReplyDefaultExpression<Server>,
  FastifyBaseLogger,
  ZodTypeProvider
>;

export const API_PREFIX = '/api/v1';
export const SESSION_COOKIE = 'vg_session';
/** JSON bodies: every API body is small; CSRs and OCSP requests have their own lower limits. */
export const BODY_LIMIT_BYTES = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** How the session token came: a Bearer header or the cookie (the cookie needs CSRF care). */
    credential?: 'bearer' | 'cookie';
  }
}

export async function buildApiServer(deps: ApiDeps): Promise<ApiApp & { apiContext: ApiContext }> {
  const ctx = createApiContext(deps);
  const tls = deps.authority.serverTls();
  const app = Fastify({
    https: {
      key: tls.key,
      cert: tls.cert,
      ca: deps.authority.caBundlePem(),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: TLS_MIN_VERSION,
      ciphers: TLS_CIPHERS,
      honorCipherOrder: true,
    },
    loggerInstance: (deps.logger ?? silentLogger()) as FastifyBaseLogger,
    // Per-request lines would carry URLs; the API logs its own PHI-free lines instead.
    logController: new LogController({ disableRequestLogging: true }),
    // Behind a reverse proxy (VITALGATE_TRUSTED_PROXIES), its X-Forwarded-For names the source.
    trustProxy: deps.config.trustedProxies.length > 0 ? deps.config.trustedProxies : false,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // A request must have arrived in full within a minute (slow senders hold no socket for ever).
    requestTimeout: 60_000,
    // Every error the HTTP stack raises gets the coded body: the router's (a bad URL, an
    // over-long parameter), Node's parser's (malformed HTTP, headers too large, a timeout), and
    // requests arriving while the server closes (the onRequest hook below).
    frameworkErrors: (error, request, reply) => replyWithError(deps, error, request, reply),
    clientErrorHandler: answerClientError,
    return503OnClosing: false,
  }).withTypeProvider<ZodTypeProvider>() as unknown as ApiApp;

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  acceptJsonOnly(app);

  // Deny by default: every route says who may reach it.
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    if (url.startsWith('/docs')) {
      route.config = { ...(route.config ?? {}), access: 'public' };
      return;
    }
    if (!route.config?.access) throw new Error(`route ${route.method} ${url} declares no access`);
  });

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(fastifyCookie);
  await app.register(fastifyRateLimit, {
    global: true,
    max: deps.rateLimits?.perMinute ?? 600,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) =>
      new VitalGateError('RATE_LIMITED', 'too many requests; slow down', {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'VitalGate API',
        version: '1',
        description: 'Clinician and operator API of the VitalGate hub. See docs/API.md.',
      },
      components: {
        securitySchemes: {
          session: {
            type: 'http',
            scheme: 'bearer',
            description: 'Session token from POST /api/v1/auth/mfa',
          },
        },
      },
      security: [{ session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });

  let closing = false;
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    void reply.header('connection', 'close');
    throw new VitalGateError('SHUTTING_DOWN', 'the hub is shutting down');
  });
  // A device marked lost is answered with Clear-Site-Data before anything else is looked at.
  app.addHook('onRequest', remoteSignOutHook(ctx.staffDevices, ctx.store.audit));
  app.addHook('onRequest', async (request) => authenticate(ctx, request));
  // Live streams never end on their own: close them so the server can stop.
  app.addHook('preClose', async () => {
    closing = true;
    for (const close of [...ctx.liveStreams]) close('server_closing');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.duration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (error, request, reply) => replyWithError(deps, error, request, reply));
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, async (_request, reply) =>
    reply.status(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: 'no such route' } }),
  );

  await registerConsole(app);
  registerOpsRoutes(app, ctx);
  registerPkiRoutes(app, ctx);
  registerEnrollmentRoutes(app, ctx);
  await registerFhirRoutes(app, ctx);
  await app.register(
    async (api) => {
      const scoped = api as unknown as ApiApp;
      registerAuthRoutes(scoped, ctx);
      registerPasskeyRoutes(scoped, ctx);
      registerStaffDeviceRoutes(scoped, ctx);
      registerUserRoutes(scoped, ctx);
      registerPatientRoutes(scoped, ctx);
      registerTelemetryRoutes(scoped, ctx);
      registerDeviceRoutes(scoped, ctx);
      registerGatewayRoutes(scoped, ctx);
      registerAlertRoutes(scoped, ctx);
      registerAlertSettingRoutes(scoped, ctx);
      registerAlertLifecycleRoutes(scoped, ctx);
      registerCareTeamRoutes(scoped, ctx);
      registerPushRoutes(scoped, ctx);
      registerCareSummaryRoutes(scoped, ctx);
      registerAuditRoutes(scoped, ctx);
      registerBreakGlassRoutes(scoped, ctx);
      registerConversationRoutes(scoped, ctx);
      registerRpmLedgerRoutes(scoped, ctx);
      registerRpmProgrammeRoutes(scoped, ctx);
      registerRpmReportRoutes(scoped, ctx);
    },
    { prefix: API_PREFIX },
  );
  return Object.assign(app, { apiContext: ctx });
}

/** The one answer to every error: coded body, audit of refused shapes, no echo of the request. */
function replyWithError(deps: ApiDeps, error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const described = describeRequestError(error);
  const { status, body } = toErrorResponse(described);
  const route = request.routeOptions?.url ?? 'unmatched';
  if (status >= 500) {
    request.log.error({ code: body.error.code, err: errorSummary(error), route }, 'request failed');
  }
  if (status === 400 || status === 413 || status === 414 || status === 415) {
    deps.store.audit.append({
      actor: request.principal ? `user:${request.principal.username}` : 'anonymous',
      action: 'api.request.rejected',
      target: `route:${request.method} ${route}`,
      outcome: 'denied',
      source: request.ip,
      details: { code: body.error.code },
    });
  }
  auditStepUpRefusal(deps.store.audit, body.error, {
    username: request.principal?.username,
    route: `${request.method} ${route}`,
    source: request.ip,
  });
  const retry = body.error.details?.retryAfterSeconds;
  if (typeof retry === 'number') void reply.header('retry-after', String(retry));
  if (status === 401 && request.url.startsWith('/.well-known/est/')) {
    void reply.header('www-authenticate', 'Basic realm="vitalgate-est"');
  }
  return reply.status(status).type('application/json').send(body);
}

function errorSummary(error: unknown): string {
  if (error instanceof VitalGateError) return error.code;
  return error instanceof Error ? error.name : 'unknown';
}

/** The one place a request's credentials are checked, before its body is even parsed. */
async function authenticate(ctx: ApiContext, request: FastifyRequest): Promise<void> {
  const access = request.routeOptions.config?.access;
  if (access === undefined) return; // unmatched routes: the not-found handler answers
  if (access === 'public') return;
  const { token, credential } = presentedToken(request);
  if (!token) throw new VitalGateError('UNAUTHENTICATED', 'a valid session is required');
  const principal = sessionPrincipal(ctx, request, token);
  request.credential = credential;
  const refuse = (
    code: 'CSRF_REJECTED' | 'FORBIDDEN' | 'PASSKEY_REQUIRED',
    message: string,
    details: object = {},
  ): never => {
    ctx.store.audit.append({
      actor: `user:${principal.username}`,
      action: 'api.access',
      target: `route:${request.method} ${request.routeOptions.url}`,
      outcome: 'denied',
      source: request.ip,
      details: { code, ...details },
    });
    throw new VitalGateError(code, message);
  };
  if (credential === 'cookie' && !['GET', 'HEAD', 'OPTIONS'].includes(request.method)) {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `https://${request.headers.host}`) {
      refuse('CSRF_REJECTED', 'cross-site request refused');
    }
  }
  const wanted: readonly Permission[] = typeof access === 'string' ? [access] : access;
  // A role that must use passkeys: a user without one reaches only their own account (to register one).
  if (wanted.some((p) => p !== 'self') && ctx.passkeys.mustRegister(principal.username, principal.role)) {
    refuse('PASSKEY_REQUIRED', 'your role signs in with a passkey: register one first', {
      role: principal.role,
    });
  }
  const held = wanted.filter((p) => roleMay(principal.role, p));
  const raw = request.params as Record<string, string | undefined>;
  if (held.length === 0 && wanted.includes('phi.read')) {
    // Only PHI can be reached here: refused, audited and counted by the PHI gate.
    ctx.guard.admit(principal, request.routeOptions.config.phi ?? 'phi', request.ip, raw.id);
  }
  if (held.length === 0) {
    refuse('FORBIDDEN', `the ${principal.role} role cannot do this`, { role: principal.role });
  }
  if (held.length === 1 && held[0] === 'phi.read') {
    ctx.guard.admit(principal, request.routeOptions.config.phi ?? 'phi', request.ip, raw.id);
    ctx.adaptive.admit(
      principal,
      request.routeOptions.config.phi ?? 'phi',
      request.ip,
      request.headers[POSITION_HEADER],
    );
  }
}

/** The staff session behind a token, set on the request; an unknown or dead one is audited and refused. */
export function sessionPrincipal(ctx: ApiContext, request: FastifyRequest, token: string): Principal {
  try {
    request.principal = ctx.sessions.authenticate(token, request.ip);
    return request.principal;
  } catch (err) {
    ctx.store.audit.append({
      actor: 'anonymous',
      action: 'auth.session',
      target: `route:${request.method} ${request.routeOptions.url}`,
      outcome: 'denied',
      source: request.ip,
      details: { code: err instanceof VitalGateError ? err.code : 'UNAUTHENTICATED' },
    });
    throw err;
  }
}

export function presentedToken(request: FastifyRequest): {
  token?: string;
  credential?: 'bearer' | 'cookie';
} {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) {
    return { token: header.slice(7).trim(), credential: 'bearer' };
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (cookie) return { token: cookie, credential: 'cookie' };
  return {};
}
