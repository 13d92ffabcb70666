// Registered SMART Backend Services clients (system clients of the FHIR server): each has a
// public key set (a JWKS, or a PEM public key turned into one), the scopes it may be granted, and
// whether its Patients carry demographics. Keys are checked when registered: only EC P-384
// (ES384) and RSA of at least 2048 bits (RS384), public parts only. No HTTP here.
import { randomBytes } from 'node:crypto';
import { exportJWK, importJWK, importSPKI, type JWK } from 'jose';
import type { AuditLog } from '../core/audit.js';
import { VitalGateError } from '../core/errors.js';
import type { Db } from '../core/store/database.js';

export const SIGNING_ALGORITHMS = ['ES384', 'RS384'] as const;
export const RESOURCE_TYPES = ['Patient', 'Device', 'Observation'] as const;
/** SMART v2 (`.r`, `.s`, `.rs`) and v1 (`.read`) system scopes of the types served. */
const SCOPE = /^system\/(Patient|Device|Observation|\*)\.(rs|r|s|read)$/;

export interface FhirClient {
  id: string;
  name: string;
  jwks: { keys: JWK[] };
  scopes: string[];
  demographics: boolean;
  createdBy: string;
  createdAt: number;
  disabledAt: number | null;
}

interface Row {
  id: string;
  name: string;
  jwks: string;
  scopes: string;
  demographics: number;
  created_by: string;
  created_at: number;
  disabled_at: number | null;
}

function fromRow(r: Row): FhirClient {
  return {
    id: r.id,
    name: r.name,
    jwks: JSON.parse(r.jwks) as { keys: JWK[] },
    scopes: r.scopes.split(' '),
    demographics: r.demographics === 1,
    createdBy: r.created_by,
    createdAt: r.created_at,
    disabledAt: r.disabled_at,
  };
}

export interface NewFhirClient {
  name: string;
  /** A JWKS document (JSON) or a PEM public key. */
  publicKeys: string;
  scopes: readonly string[];
  demographics?: boolean | undefined;
}

function invalid(message: string): never {
  throw new VitalGateError('FHIR_CLIENT_INVALID', message);
}

export function validateScopes(scopes: readonly string[]): string[] {
  if (scopes.length === 0) invalid('a client needs at least one scope, such as system/Observation.rs');
  for (const s of scopes) {
    if (!SCOPE.test(s)) invalid('scopes are system/<Patient|Device|Observation|*>.<rs|r|s|read>');
  }
  return [...new Set(scopes)];
}

async function checkedKey(jwk: JWK): Promise<JWK> {
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) invalid('register public keys only');
  const alg = jwk.kty === 'EC' ? 'ES384' : jwk.kty === 'RSA' ? 'RS384' : undefined;
  if (!alg) invalid('keys are EC P-384 (ES384) or RSA (RS384)');
  if (jwk.kty === 'EC' && jwk.crv !== 'P-384') invalid('EC keys are on P-384 (ES384)');
  if (jwk.alg !== undefined && jwk.alg !== alg) invalid(`a ${jwk.kty} key signs with ${alg}`);
  try {
    await importJWK(jwk, alg);
  } catch {
    invalid('a key could not be read');
  }
  if (jwk.kty === 'RSA' && Buffer.from(jwk.n ?? '', 'base64url').length < 256)
    invalid('RSA keys have at least 2048 bits');
  const { kty, crv, x, y, n, e, kid } = jwk;
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e, kid, alg }).filter(([, v]) => v !== undefined),
  );
}

/** The client's keys as a JWKS of checked public keys. */
export async function publicKeySet(text: string): Promise<{ keys: JWK[] }> {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN') && !trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    invalid('register public keys only (a PEM "PUBLIC KEY", never a private key or certificate)');
  }
  if (trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) {
    let jwk: JWK;
    try {
      const key = await importSPKI(trimmed, 'ES384', { extractable: true }).catch(() =>
        importSPKI(trimmed, 'RS384', { extractable: true }),
      );
      jwk = await exportJWK(key);
    } catch {
      invalid('the public key is not an EC P-384 or RSA key in PEM (SPKI)');
    }
    return { keys: [await checkedKey(jwk)] };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch {
    invalid('the keys are neither a JWKS (JSON) nor a PEM public key');
  }
  const keys = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 10) invalid('a JWKS has 1 to 10 keys');
  return { keys: await Promise.all(keys.map((k) => checkedKey(k as JWK))) };
}

export class FhirClientRepository {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly now: () => number,
  ) {}

  async register(input: NewFhirClient, actor: string): Promise<FhirClient> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 100) invalid('a client has a name of 1 to 100 characters');
    const scopes = validateScopes(input.scopes);
    const jwks = await publicKeySet(input.publicKeys);
    const id = `fc_${randomBytes(12).toString('base64url')}`;
    this.db
      .prepare(
        `INSERT INTO fhir_clients (id, name, jwks, scopes, demographics, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, name, JSON.stringify(jwks), scopes.join(' '), input.demographics ? 1 : 0, actor, this.now());
    this.audit.append({
      actor,
      action: 'fhir.client.register',
      target: `fhir-client:${id}`,
      outcome: 'success',
      details: { scopes, demographics: input.demographics === true, keys: jwks.keys.length },
    });
    return this.require(id);
  }

  get(id: string): FhirClient | undefined {
    const row = this.db.prepare('SELECT * FROM fhir_clients WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  require(id: string): FhirClient {
    const client = this.get(id);
    if (!client) throw new VitalGateError('NOT_FOUND', 'no such FHIR client');
    return client;
  }

  list(): FhirClient[] {
    return (this.db.prepare('SELECT * FROM fhir_clients ORDER BY created_at, id').all() as Row[]).map(
      fromRow,
    );
  }

  /** Records an assertion id; false when it was seen before (a replay). Forgets expired ones. */
  rememberJti(clientId: string, jti: string, expiresAt: number): boolean {
    const now = this.now();
    this.db.prepare('DELETE FROM fhir_assertion_jtis WHERE expires_at < ?').run(now);
    const inserted = this.db
      .prepare('INSERT OR IGNORE INTO fhir_assertion_jtis (client_id, jti, expires_at) VALUES (?, ?, ?)')
      .run(clientId, jti, expiresAt);
    return inserted.changes === 1;
  }

  storeToken(hash: string, clientId: string, scopes: readonly string[], expiresAt: number): void {
    const now = this.now();
    this.db.prepare('DELETE FROM fhir_access_tokens WHERE expires_at < ?').run(now);
    this.db
      .prepare(
        'INSERT INTO fhir_access_tokens (token_hash, client_id, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(hash, clientId, scopes.join(' '), now, expiresAt);
  }

  token(hash: string): { clientId: string; scopes: string[]; expiresAt: number } | undefined {
    const row = this.db
      .prepare('SELECT client_id, scopes, expires_at FROM fhir_access_tokens WHERE token_hash = ?')
      .get(hash) as { client_id: string; scopes: string; expires_at: number } | undefined;
    return row
      ? { clientId: row.client_id, scopes: row.scopes.split(' '), expiresAt: row.expires_at }
      : undefined;
  }
}
