// SMART Backend Services around the FHIR server: the discovery document, the token endpoint
// (a form body, answered with a token or an OperationOutcome), and the admin's registration of
// system clients under /api/v1 (the CLI's `fhir-client add` does the same).
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import { operationOutcome } from '../../fhir/bundle.js';
import { FhirClientRepository, SIGNING_ALGORITHMS, type FhirClient } from '../../fhir/smart-clients.js';
import { SmartTokenService, type TokenRequest } from '../../fhir/smart-tokens.js';
import type { ApiContext } from '../context.js';
import { toErrorResponse } from '../http-errors.js';
import { describeRequestError } from '../request-errors.js';
import { API_PREFIX, type ApiApp } from '../server.js';

const FORM = 'application/x-www-form-urlencoded';
const TOKEN_PATH = '/oauth2/token';
const tags = ['fhir'];

export function smartTokenUrl(request: FastifyRequest): string {
  return `https://${request.headers.host ?? 'localhost'}${TOKEN_PATH}`;
}

export function smartConfiguration(request: FastifyRequest) {
  return {
    token_endpoint: smartTokenUrl(request),
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...SIGNING_ALGORITHMS],
    grant_types_supported: ['client_credentials'],
    scopes_supported: ['system/Patient.rs', 'system/Device.rs', 'system/Observation.rs', 'system/*.rs'],
    capabilities: ['client-confidential-asymmetric', 'permission-v2', 'permission-v1'],
  };
}

function clientView(c: FhirClient) {
  return {
    id: c.id,
    name: c.name,
    scopes: c.scopes,
    demographics: c.demographics,
    keys: c.jwks.keys.map((k) => ({ kty: k.kty, alg: k.alg, ...(k.kid ? { kid: k.kid } : {}) })),
    createdBy: c.createdBy,
    createdAt: new Date(c.createdAt).toISOString(),
  };
}

export async function registerSmartRoutes(app: ApiApp, ctx: ApiContext): Promise<SmartTokenService> {
  const clients = new FhirClientRepository(ctx.store.db, ctx.store.audit, ctx.now);
  const tokens = new SmartTokenService(clients, ctx.store.audit, ctx.now);

  app.get(
    '/.well-known/smart-configuration',
    {
      config: { access: 'public' },
      schema: { tags, summary: 'SMART configuration: the token endpoint and what it accepts.' },
    },
    async (request) => smartConfiguration(request),
  );

  await app.register(async (scope) => {
    const token = scope as unknown as ApiApp;
    token.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    token.setErrorHandler(async (error, _request, reply) => {
      const { status, body } = toErrorResponse(describeRequestError(error));
      const retry = body.error.details?.retryAfterSeconds;
      if (typeof retry === 'number') void reply.header('retry-after', String(retry));
      return reply
        .status(status)
        .header('cache-control', 'no-store')
        .type('application/fhir+json; charset=utf-8')
        .send(JSON.stringify(operationOutcome(status, body.error.code, body.error.message)));
    });
    token.post(
      TOKEN_PATH,
      {
        config: {
          access: 'public',
          rateLimit: { max: ctx.deps.rateLimits?.authPerMinute ?? 20, timeWindow: 60_000 },
        },
        schema: {
          tags,
          summary:
            'SMART Backend Services: a client_credentials grant with a signed JWT client assertion (private_key_jwt, ES384 or RS384) for a five-minute access token.',
        },
      },
      async (request, reply) => {
        const issued = await tokens.issue(
          (request.body ?? {}) as TokenRequest,
          smartTokenUrl(request),
          request.ip,
        );
        return reply.header('cache-control', 'no-store').send(issued);
      },
    );
  });

  app.post(
    `${API_PREFIX}/fhir-clients`,
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary:
          'Registers a FHIR system client: its public keys (JWKS or PEM), scopes, and whether it sees demographics.',
        body: z
          .object({
            name: z.string().min(1).max(100),
            publicKeys: z.string().min(1).max(32_000),
            scopes: z.array(z.string().max(64)).min(1).max(10),
            demographics: z.boolean().optional(),
          })
          .strict(),
      },
    },
    async (request, reply) => {
      const client = await clients.register(request.body, `user:${request.principal!.username}`);
      return reply.status(201).send({ ...clientView(client), tokenUrl: smartTokenUrl(request) });
    },
  );

  app.get(
    `${API_PREFIX}/fhir-clients`,
    {
      config: { access: 'users.manage' },
      schema: { tags, summary: 'Registered FHIR system clients (public keys are not shown).' },
    },
    async () => clients.list().map(clientView),
  );
  return tokens;
}
