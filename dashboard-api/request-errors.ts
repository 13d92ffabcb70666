// Fastify's own request errors (schema validation, body parsing, limits, the router's URL and
// parameter-length errors) as coded VitalGateErrors, so the one error mapping in http-errors.ts
// answers all of them; and the answer to errors Node's HTTP parser raises before Fastify sees a
// request (malformed HTTP, oversized headers, a request that never finishes arriving). Validation
// details name the fields, never their values; no answer quotes the request.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { VitalGateError, isVitalGateError } from '../core/errors.js';

const FASTIFY_CODES: Readonly<Record<string, [string, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'the request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'unsupported content type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BODY_INVALID', 'the content length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['BODY_INVALID', 'the JSON body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['BODY_INVALID', 'the body is not valid JSON'],
  FST_ERR_CTP_EMPTY_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'a content type is required'],
  FST_ERR_CTP_INVALID_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'unsupported content type'],
  FST_ERR_VALIDATION: ['VALIDATION_FAILED', 'the request is not valid'],
  FST_ERR_MAX_PARAM_LENGTH: ['URI_TOO_LONG', 'a path parameter is too long'],
  FST_ERR_BAD_URL: ['URL_INVALID', 'the URL is not valid'],
  FST_ERR_INVALID_URL: ['URL_INVALID', 'the URL is not valid'],
};

export function describeRequestError(error: unknown): unknown {
  if (isVitalGateError(error)) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation;
    const unknownKeys = issues.filter((i) => i.keyword === 'unrecognized_keys');
    const fields = [
      ...new Set(
        issues.map((i) => `${error.validationContext ?? 'request'}${i.instancePath.replace(/\//g, '.')}`),
      ),
    ].filter((f) => /^[A-Za-z0-9_.-]{1,64}$/.test(f));
    if (unknownKeys.length > 0) {
      return new VitalGateError('UNKNOWN_FIELD', 'the request has fields this route does not accept', {
        in: error.validationContext ?? 'request',
      });
    }
    return new VitalGateError('VALIDATION_FAILED', 'the request is not valid', {
      ...(fields.length ? { fields } : {}),
    });
  }
  const code = (error as { code?: string }).code;
  if (code && FASTIFY_CODES[code]) {
    const [ours, message] = FASTIFY_CODES[code];
    return new VitalGateError(ours, message);
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (error instanceof SyntaxError && status === 400)
    return new VitalGateError('BODY_INVALID', 'the body is not valid JSON');
  if (status === 429) return new VitalGateError('RATE_LIMITED', 'too many requests; slow down');
  if (status === 404) return new VitalGateError('ROUTE_NOT_FOUND', 'no such route');
  if (status === 405) return new VitalGateError('METHOD_NOT_ALLOWED', 'method not allowed');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new VitalGateError('BAD_REQUEST', 'the request cannot be served');
  }
  return error;
}

/** Errors of Node's HTTP parser, by their code; anything else is a plain bad request. */
const CLIENT_ERRORS: Readonly<Record<string, [number, string, string]>> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'the request took too long to arrive'],
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'the request line or headers are too large'],
};

/**
 * Fastify's `clientErrorHandler`: answers a request Node could not parse with the coded error
 * body, then closes the connection (its state is unknown).
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [
    400,
    'BAD_REQUEST',
    'the request is not valid HTTP',
  ];
  const body = JSON.stringify({ error: { code, message } });
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      'X-Content-Type-Options: nosniff\r\n' +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
