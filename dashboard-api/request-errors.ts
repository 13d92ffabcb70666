// Fastify's own request errors (schema validation, body parsing, limits) as coded
// VitalGateErrors, so the one error mapping in http-errors.ts answers all of them. Validation
// details name the fields, never their values.
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
