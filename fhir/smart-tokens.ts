// SMART Backend Services token issuance (client credentials with a signed JWT assertion,
// `private_key_jwt`, RFC 7523): the assertion is verified with the registered client's keys
// (ES384 or RS384), its `iss` and `sub` are the client id, its `aud` is this token endpoint, it
// expires within five minutes, and its `jti` is used once. The access token is opaque, random,
// stored only as a hash, and lives five minutes. Every issue and every refusal is audited.
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import type { AuditLog } from '../core/audit.js';
import { VitalGateError } from '../core/errors.js';
import { SIGNING_ALGORITHMS, validateScopes, type FhirClientRepository } from './smart-clients.js';

export const ACCESS_TOKEN_PREFIX = 'vgfa_';
export const ACCESS_TOKEN_TTL_S = 300;
export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MAX_ASSERTION_LIFETIME_S = 300;
const CLOCK_TOLERANCE_S = 30;

export interface TokenRequest {
  grant_type?: string | undefined;
  client_assertion_type?: string | undefined;
  client_assertion?: string | undefined;
  scope?: string | undefined;
}

export interface IssuedToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

export interface SystemPrincipal {
  clientId: string;
  scopes: string[];
  demographics: boolean;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** What a scope list grants: read (`r`) and search (`s`) per resource type. */
export function grants(scopes: readonly string[], type: string, interaction: 'r' | 's'): boolean {
  return scopes.some((scope) => {
    const m = /^system\/([A-Za-z*]+)\.(rs|r|s|read)$/.exec(scope);
    if (!m || (m[1] !== '*' && m[1] !== type)) return false;
    return m[2] === 'read' || m[2]!.includes(interaction);
  });
}

export class SmartTokenService {
  constructor(
    private readonly clients: FhirClientRepository,
    private readonly audit: AuditLog,
    private readonly now: () => number,
  ) {}

  async issue(request: TokenRequest, tokenUrl: string, source: string | undefined): Promise<IssuedToken> {
    /** The client, once the assertion names a registered one. */
    const known: { id?: string } = {};
    const refuse = (code: string, reason: string, message: string): never => {
      this.audit.append({
        actor: known.id ? `fhir-client:${known.id}` : 'anonymous',
        action: 'fhir.token',
        target: known.id ? `fhir-client:${known.id}` : undefined,
        outcome: 'denied',
        source,
        details: { reason },
      });
      throw new VitalGateError(code, message);
    };
    if (request.grant_type !== 'client_credentials') {
      refuse('BAD_REQUEST', 'grant_type', 'grant_type must be client_credentials');
    }
    if (request.client_assertion_type !== ASSERTION_TYPE || !request.client_assertion) {
      refuse('BAD_REQUEST', 'assertion_type', `a client_assertion of type ${ASSERTION_TYPE} is required`);
    }
    const assertion = request.client_assertion!;
    let iss: unknown;
    try {
      iss = decodeJwt(assertion).iss;
    } catch {
      refuse('CLIENT_ASSERTION_INVALID', 'malformed', 'the client assertion is not a JWT');
    }
    const client = typeof iss === 'string' && iss.length <= 64 ? this.clients.get(iss) : undefined;
    if (!client || client.disabledAt !== null) {
      refuse('CLIENT_ASSERTION_INVALID', 'unknown_client', 'the client is not registered');
    }
    const clientId = client!.id;
    known.id = clientId;
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client!.jwks), {
        algorithms: [...SIGNING_ALGORITHMS],
        issuer: clientId,
        subject: clientId,
        audience: tokenUrl,
        requiredClaims: ['exp', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(this.now()),
      }));
    } catch (err) {
      const reason =
        err instanceof errors.JWTExpired
          ? 'expired'
          : err instanceof errors.JWTClaimValidationFailed
            ? `claim_${err.claim}`
            : 'signature';
      const message =
        reason === 'expired'
          ? 'the client assertion has expired'
          : reason === 'claim_aud'
            ? 'the client assertion is not for this token endpoint'
            : reason.startsWith('claim_')
              ? `the client assertion's ${reason.slice(6)} claim is wrong or missing`
              : 'the client assertion is not signed by a registered key';
      return refuse('CLIENT_ASSERTION_INVALID', reason, message);
    }
    const nowS = Math.floor(this.now() / 1000);
    if (payload.exp! > nowS + MAX_ASSERTION_LIFETIME_S + CLOCK_TOLERANCE_S) {
      refuse('CLIENT_ASSERTION_INVALID', 'lifetime', 'a client assertion expires within five minutes');
    }
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 200) {
      refuse('CLIENT_ASSERTION_INVALID', 'claim_jti', "the client assertion's jti claim is wrong or missing");
    }
    if (!this.clients.rememberJti(clientId, payload.jti!, (payload.exp! + CLOCK_TOLERANCE_S) * 1000)) {
      refuse('CLIENT_ASSERTION_INVALID', 'replayed', 'this client assertion was already used');
    }
    const requested = (request.scope ?? '').split(' ').filter((s) => s !== '');
    let scopes: string[] = [];
    try {
      scopes = validateScopes(requested);
    } catch {
      refuse('SCOPE_NOT_GRANTED', 'scope_invalid', 'scope names system/<type>.<rs|r|s|read> scopes');
    }
    const granted = scopes.filter((s) => client!.scopes.includes(s));
    if (granted.length === 0)
      refuse('SCOPE_NOT_GRANTED', 'scope_not_registered', 'none of the scopes is granted to this client');
    const token = `${ACCESS_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    this.clients.storeToken(hashToken(token), clientId, granted, this.now() + ACCESS_TOKEN_TTL_S * 1000);
    this.audit.append({
      actor: `fhir-client:${clientId}`,
      action: 'fhir.token',
      target: `fhir-client:${clientId}`,
      outcome: 'success',
      source,
      details: { scopes: granted, expiresInS: ACCESS_TOKEN_TTL_S },
    });
    return {
      access_token: token,
      token_type: 'bearer',
      expires_in: ACCESS_TOKEN_TTL_S,
      scope: granted.join(' '),
    };
  }

  /** The client behind a live access token, or UNAUTHENTICATED. */
  authenticate(token: string): SystemPrincipal {
    const record = token.length <= 100 ? this.clients.token(hashToken(token)) : undefined;
    const client = record ? this.clients.get(record.clientId) : undefined;
    if (!record || !client || client.disabledAt !== null || record.expiresAt <= this.now()) {
      throw new VitalGateError('UNAUTHENTICATED', 'the access token is unknown or has expired');
    }
    return { clientId: client.id, scopes: record.scopes, demographics: client.demographics };
  }
}
