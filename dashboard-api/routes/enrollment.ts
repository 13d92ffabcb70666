// Device enrollment (SPEC §3): the JSON endpoints under /api/v1 and EST (RFC 7030) under
// /.well-known/est, both over the same DeviceEnrollment service. Enrollment proves itself with
// the one-time token; renewal and simplereenroll with the device's current certificate.
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import { csrAttributesDer } from '../../pki/csr-attributes.js';
import { certsOnlyPkcs7Base64, estBase64 } from '../../pki/pkcs7.js';
import type { EnrollmentResult } from '../../pki/enrollment.js';
import { ClientCertificateGate } from '../client-certificate.js';
import type { ApiContext } from '../context.js';
import { API_PREFIX, type ApiApp } from '../server.js';
import { deviceId } from '../schemas.js';

const CSR_BODY_LIMIT = 32 * 1024;
const csrPem = z.string().min(1).max(20_000);

function pem(base64Der: string): string {
  const b64 = base64Der.replace(/[\r\n\s]/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64))
    throw new VitalGateError('CSR_MALFORMED', 'the EST body must be base64 DER');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE REQUEST-----\n`;
}

export function registerEnrollmentRoutes(app: ApiApp, ctx: ApiContext): void {
  const gate = new ClientCertificateGate(ctx.deps.authority, ctx.store, ctx.now);
  const enrollLimit = { max: ctx.deps.rateLimits?.authPerMinute ?? 20, timeWindow: 60_000 };
  const reply = (r: EnrollmentResult) => ({
    deviceId: r.deviceId,
    serial: r.serial,
    certificate: r.certificatePem,
    chain: ctx.deps.authority.issuingPem,
    caBundle: ctx.deps.authority.caBundlePem(),
    commandSigner: ctx.deps.authority.commandSigner().certificatePem,
    notAfter: new Date(r.notAfter).toISOString(),
    mqtt: ctx.mqttEndpoint,
  });
  const enrollment = z.object({
    deviceId: z.string(),
    serial: z.string(),
    certificate: z.string(),
    chain: z.string(),
    caBundle: z.string(),
    commandSigner: z.string(),
    notAfter: z.string(),
    mqtt: z.object({ host: z.string(), port: z.number() }),
  });

  app.post(
    `${API_PREFIX}/enroll`,
    {
      config: { access: 'public', rateLimit: enrollLimit },
      bodyLimit: CSR_BODY_LIMIT,
      schema: {
        tags: ['enrollment'],
        summary: 'A device enrolls with its one-time token and a PKCS#10 CSR (PEM) for a key it generated.',
        security: [],
        body: z.object({ token: z.string().min(16).max(256), csr: csrPem }).strict(),
        response: { 201: enrollment },
      },
    },
    async (request, res) => {
      const result = await ctx.enrollment.enroll(request.body.token, request.body.csr, {
        source: request.ip,
      });
      return res.status(201).send(reply(result));
    },
  );

  app.post(
    `${API_PREFIX}/enroll/renew`,
    {
      config: { access: 'public', rateLimit: enrollLimit },
      bodyLimit: CSR_BODY_LIMIT,
      schema: {
        tags: ['enrollment'],
        summary: 'Renewal, authenticated by the device’s current certificate (mutual TLS).',
        security: [],
        body: z.object({ csr: csrPem }).strict(),
        response: { 201: enrollment },
      },
    },
    async (request, res) => {
      const device = gate.device(request);
      const result = await ctx.enrollment.renew(device.deviceId, device.serial, request.body.csr, request.ip);
      return res.status(201).send(reply(result));
    },
  );

  void app.register(async (est) => {
    est.addContentTypeParser(
      ['application/pkcs10', 'application/x-pkcs10'],
      { parseAs: 'string', bodyLimit: CSR_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    const scoped = est as unknown as ApiApp;
    const pkcs7 = (res: FastifyReply, certificates: string[], status = 200) =>
      res
        .status(status)
        .header('content-type', 'application/pkcs7-mime; smime-type=certs-only')
        .header('content-transfer-encoding', 'base64')
        .send(certsOnlyPkcs7Base64(certificates));

    scoped.get(
      '/.well-known/est/cacerts',
      {
        config: { access: 'public' },
        schema: {
          tags: ['est'],
          summary: 'EST: the CA certificates (certs-only PKCS#7, base64).',
          security: [],
        },
      },
      async (_request, res) => pkcs7(res, [ctx.deps.authority.issuingPem, ctx.deps.authority.rootPem]),
    );

    scoped.get(
      '/.well-known/est/csrattrs',
      {
        config: { access: 'public' },
        schema: {
          tags: ['est'],
          summary:
            'EST: the CSR attributes the hub requires (RFC 7030 §4.5): ecPublicKey on P-256, ecdsa-with-SHA256, a CN (= the device id). Base64 DER.',
          security: [],
        },
      },
      async (_request, res) =>
        res
          .status(200)
          .header('content-type', 'application/csrattrs')
          .header('content-transfer-encoding', 'base64')
          .send(estBase64(csrAttributesDer())),
    );

    scoped.post(
      '/.well-known/est/simpleenroll',
      {
        config: { access: 'public', rateLimit: enrollLimit },
        schema: {
          tags: ['est'],
          summary: 'EST simpleenroll: HTTP Basic (device id / one-time token), base64 DER PKCS#10 body.',
          security: [],
          body: z.string().max(CSR_BODY_LIMIT),
        },
      },
      async (request, res) => {
        const basic = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(request.headers.authorization ?? '');
        const [id, token] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(/:(.*)/s) : [];
        if (!id || !token || !deviceId.safeParse(id).success) {
          throw new VitalGateError(
            'ENROLLMENT_TOKEN_INVALID',
            'EST enrollment needs HTTP Basic: device id and token',
          );
        }
        const result = await ctx.enrollment.enroll(token, pem(request.body), {
          source: request.ip,
          deviceId: id,
        });
        return pkcs7(res, [result.certificatePem]);
      },
    );

    scoped.post(
      '/.well-known/est/simplereenroll',
      {
        config: { access: 'public', rateLimit: enrollLimit },
        schema: {
          tags: ['est'],
          summary: 'EST simplereenroll: authenticated by the current device certificate (mutual TLS).',
          security: [],
          body: z.string().max(CSR_BODY_LIMIT),
        },
      },
      async (request, res) => {
        const device = gate.device(request);
        const result = await ctx.enrollment.renew(
          device.deviceId,
          device.serial,
          pem(request.body),
          request.ip,
        );
        return pkcs7(res, [result.certificatePem]);
      },
    );
  });
}
