// Public PKI endpoints (SPEC §3): the CA bundle, the CRL (DER, or PEM) and OCSP (RFC 6960, POST
// and GET). These name certificates, never people, and answer anyone.
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';

const OCSP_BODY_LIMIT = 16 * 1024;

export function registerPkiRoutes(app: ApiApp, ctx: ApiContext): void {
  const { authority } = ctx.deps;
  const tags = ['pki'];

  app.get(
    '/pki/ca.pem',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'Issuing CA and root, PEM (during an issuing CA rotation both issuing CAs).',
        security: [],
      },
    },
    async (_request, reply) => reply.type('application/x-pem-file').send(authority.caBundlePem()),
  );

  app.get(
    '/pki/crl',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary:
          'A CRL, DER by default, `?format=pem` for PEM. `?issuer=<serial hex>` names the CA (an issuing CA in service or the root); without it, the CRL of the issuing CA whose certificates carry the bare URL (docs/PKI.md).',
        security: [],
        querystring: z
          .object({
            format: z.enum(['der', 'pem']).optional(),
            issuer: z
              .string()
              .regex(/^[0-9a-fA-F]{1,42}$/)
              .optional(),
          })
          .strict(),
      },
    },
    async (request, reply) => {
      const crl = await authority.revocationListFor(request.query.issuer);
      if (!crl) throw new VitalGateError('CRL_ISSUER_UNKNOWN', 'the hub publishes no CRL for that issuer');
      void reply.header('cache-control', 'public, max-age=60');
      return request.query.format === 'pem'
        ? reply.type('application/x-pem-file').send(crl.pem)
        : reply.type('application/pkix-crl').send(crl.der);
    },
  );

  void app.register(async (ocsp) => {
    ocsp.addContentTypeParser(
      'application/ocsp-request',
      { parseAs: 'buffer', bodyLimit: OCSP_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    const scoped = ocsp as unknown as ApiApp;
    const answer = async (der: Uint8Array, reply: FastifyReply) =>
      reply.type('application/ocsp-response').send(await authority.ocspResponder().respond(der, ctx.now()));

    scoped.post(
      '/pki/ocsp',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'OCSP (RFC 6960): application/ocsp-request in, application/ocsp-response out.',
          security: [],
        },
      },
      async (request, reply) => answer(request.body as Buffer, reply),
    );

    scoped.get(
      '/pki/ocsp/:request',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'OCSP over GET (RFC 6960 A.1): the base64 DER request in the path.',
          security: [],
          params: z
            .object({
              request: z
                .string()
                .max(3000)
                .regex(/^[A-Za-z0-9+/=%_-]+$/),
            })
            .strict(),
        },
      },
      async (request, reply) =>
        answer(
          Buffer.from(
            decodeURIComponent(request.params.request).replace(/-/g, '+').replace(/_/g, '/'),
            'base64',
          ),
          reply,
        ),
    );
  });
}
