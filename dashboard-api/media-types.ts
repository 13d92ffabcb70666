// What JSON routes accept as a body: `application/json`, with `charset=utf-8` or no parameter at
// all, and bytes that are valid UTF-8. Anything else — `text/plain`, a form, another charset
// (`application/json; charset=utf-16` with UTF-8 bytes must not slip through), unknown
// parameters — is refused with 415 UNSUPPORTED_MEDIA_TYPE before the body is read. Routes with
// binary bodies (EST, OCSP) register their own parsers in their own scope.
import type { FastifyInstance } from 'fastify';
import { VitalGateError } from '../core/errors.js';

const JSON_TYPE = 'application/json';

/** Why a JSON content type is refused, or undefined when it is acceptable. */
export function jsonContentTypeProblem(header: string | undefined): string | undefined {
  if (!header) return 'a content type is required';
  const [type = '', ...params] = header.split(';').map((part) => part.trim());
  if (type.toLowerCase() !== JSON_TYPE) return `only ${JSON_TYPE} is accepted`;
  for (const param of params) {
    if (param === '') continue;
    const match = /^charset\s*=\s*"?([^"]*)"?$/i.exec(param);
    if (!match) return `${JSON_TYPE} takes no parameters but charset=utf-8`;
    if (!/^utf-?8$/i.test(match[1]!)) return `${JSON_TYPE} is accepted in UTF-8 only`;
  }
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Replaces Fastify's JSON and text parsers with the strict JSON one, for every route. */
export function acceptJsonOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(JSON_TYPE, { parseAs: 'buffer' }, (request, body, done) => {
    const problem = jsonContentTypeProblem(request.headers['content-type']);
    if (problem) {
      done(new VitalGateError('UNSUPPORTED_MEDIA_TYPE', problem), undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new VitalGateError('BODY_INVALID', 'the body is not valid UTF-8'), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
