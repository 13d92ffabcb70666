// A stand-in for an EHR's FHIR R4 server, run by the push tests: an EHR is the one party of push
// that cannot run here (no FHIR server such as HAPI installs on this machine). It is a real HTTPS
// server on loopback with a certificate from a CA of its own (made with the openssl CLI), so the
// hub must be told to trust that CA. It serves `metadata`, a SMART Backend Services token
// endpoint (it verifies the hub's signed client assertion with jose against the hub's public
// key), and transactions: it validates every Bundle and resource it receives against the official
// FHIR R4 JSON schema, honours `ifNoneExist` (a conditional create of an identifier it holds
// stores nothing), resolves `urn:uuid` references, and remembers what it stored, in order.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { importSPKI, jwtVerify, type CryptoKey } from 'jose';
import { fhirValidator } from '../integration/api/fhir-schema.js';
import { openssl, writeFiles } from './openssl.js';

type Json = Record<string, unknown> & { resourceType?: string };

export interface StoredResource {
  id: string;
  resourceType: string;
  identifier: string;
  resource: Json;
}

/** A CA and a server certificate for localhost/127.0.0.1, made with the openssl CLI. */
export function standInTls(): { caPem: string; caFile: string; key: string; cert: string } {
  const files = writeFiles({ 'san.cnf': 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' });
  const path = (name: string) => `${files.dir}/${name}`;
  const run = (args: string[]) => {
    const r = openssl(args);
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=EHR stand-in CA',
  ]);
  run(['req', '-new', ...ec, '-keyout', path('ehr.key'), '-out', path('ehr.csr'), '-subj', '/CN=localhost']);
  run([
    'x509',
    '-req',
    '-in',
    path('ehr.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-out',
    path('ehr.pem'),
    '-days',
    '2',
    '-extfile',
    path('san.cnf'),
  ]);
  const read = (name: string) => openssl(['x509', '-in', path(name)]).stdout;
  return {
    caPem: read('ca.pem'),
    caFile: path('ca.pem'),
    key: openssl(['pkey', '-in', path('ehr.key')]).stdout,
    cert: read('ehr.pem'),
  };
}

export class EhrStandIn {
  /** Stored resources in the order they were stored. */
  readonly stored: StoredResource[] = [];
  /** What failed the official schema (must stay empty). */
  readonly invalid: string[] = [];
  /** Observations and Communications sent again that a conditional create found stored already. */
  againAlreadyStored = 0;
  /** Transactions received (including ones answered with an error). */
  transactions = 0;
  /** Token requests answered, and refused. */
  tokens = { issued: 0, refused: 0 };
  /** Answer 503 to the next this many transactions (an outage counted in requests, not seconds). */
  outageRequests = 0;
  /** Identifier values refused with 422 and an OperationOutcome. */
  readonly refuse = new Set<string>();
  /** While set, transactions wait unanswered (a slow EHR) until `release()`. */
  private held: Promise<void> | undefined;
  private releaseHeld: (() => void) | undefined;
  /** Called after a transaction is stored and before it is answered (say, to kill the hub). */
  afterStore?: (storedSoFar: number) => void;
  baseUrl = '';
  tokenUrl = '';
  private readonly byIdentifier = new Map<string, StoredResource>();
  private readonly accessTokens = new Set<string>();
  private readonly waiters: { until: () => boolean; resolve: () => void }[] = [];
  private server: Server | undefined;
  private clientKey: CryptoKey | undefined;

  constructor(
    private readonly tls: { key: string; cert: string },
    private readonly auth: { bearer?: string; smartClientId?: string; smartPublicKeyPem?: string },
  ) {}

  async start(): Promise<void> {
    if (this.auth.smartPublicKeyPem) this.clientKey = await importSPKI(this.auth.smartPublicKeyPem, 'ES384');
    this.server = createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks).toString('utf8'))
          .then(({ status, body }) => {
            if (res.destroyed) return;
            res.writeHead(status, { 'content-type': 'application/fhir+json' });
            res.end(JSON.stringify(body));
          })
          .catch(() => res.destroy());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.baseUrl = `https://localhost:${port}/fhir`;
    this.tokenUrl = `https://localhost:${port}/token`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The hub's settings for pushing here as the stand-in's SMART client, trusting its CA. */
  smartPushEnv(keyFile: string, caFile: string): Record<string, string> {
    return {
      VITALGATE_EHR_PUSH_URL: this.baseUrl,
      VITALGATE_EHR_PUSH_TOKEN_URL: this.tokenUrl,
      VITALGATE_EHR_PUSH_CLIENT_ID: this.auth.smartClientId ?? '',
      VITALGATE_EHR_PUSH_KEY_FILE: keyFile,
      VITALGATE_EHR_PUSH_CA_FILE: caFile,
    };
  }

  /** Transactions from now on wait unanswered until `release()`. */
  hold(): void {
    this.held ??= new Promise((resolve) => (this.releaseHeld = resolve));
  }

  release(): void {
    this.releaseHeld?.();
    this.held = undefined;
  }

  /** Resolves when `until` holds (checked after every request). */
  waitFor(until: () => boolean): Promise<void> {
    if (until()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ until, resolve }));
  }

  /** The stored resources of one type, in the order they were stored. */
  ofType(type: string): StoredResource[] {
    return this.stored.filter((s) => s.resourceType === type);
  }

  private notify(): void {
    for (const w of [...this.waiters])
      if (w.until()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
  }

  private async handle(
    method: string,
    url: string,
    headers: Record<string, string | string[] | undefined>,
    text: string,
  ): Promise<{ status: number; body: unknown }> {
    try {
      if (method === 'GET' && url === '/fhir/metadata')
        return {
          status: 200,
          body: {
            resourceType: 'CapabilityStatement',
            status: 'active',
            fhirVersion: '4.0.1',
            kind: 'instance',
            date: '2026-12-06',
            format: ['json'],
          },
        };
      if (method === 'POST' && url === '/token') return await this.token(text);
      if (method === 'POST' && url === '/fhir') {
        if (this.held) await this.held;
        this.transactions++;
        if (!this.authorized(headers.authorization)) return outcome(401, 'security', 'no valid token');
        if (this.outageRequests > 0) {
          this.outageRequests--;
          return outcome(503, 'transient', 'down for maintenance');
        }
        return this.transaction(JSON.parse(text) as Json);
      }
      return outcome(404, 'not-found', 'no such interaction');
    } finally {
      setImmediate(() => this.notify());
    }
  }

  private authorized(header: string | string[] | undefined): boolean {
    const token = typeof header === 'string' ? header.replace(/^Bearer /, '') : '';
    return this.auth.bearer !== undefined ? token === this.auth.bearer : this.accessTokens.has(token);
  }

  private async token(text: string): Promise<{ status: number; body: unknown }> {
    const form = new URLSearchParams(text);
    try {
      if (!this.clientKey || form.get('grant_type') !== 'client_credentials') throw new Error('grant');
      const { payload } = await jwtVerify(form.get('client_assertion') ?? '', this.clientKey, {
        audience: this.tokenUrl,
        issuer: this.auth.smartClientId,
        subject: this.auth.smartClientId,
        algorithms: ['ES384'],
      });
      if (typeof payload.jti !== 'string' || (payload.exp ?? 0) - (payload.iat ?? 0) > 300)
        throw new Error('claims');
    } catch {
      this.tokens.refused++;
      return { status: 400, body: { error: 'invalid_client' } };
    }
    const token = randomBytes(16).toString('hex');
    this.accessTokens.add(token);
    this.tokens.issued++;
    return {
      status: 200,
      body: { access_token: token, token_type: 'bearer', expires_in: 300, scope: form.get('scope') },
    };
  }

  private validate(resource: Json, what: string): boolean {
    const validate = fhirValidator(String(resource.resourceType));
    if (validate && validate(resource)) return true;
    this.invalid.push(`${what}: ${JSON.stringify(validate?.errors?.slice(0, 2) ?? 'unknown type')}`);
    return false;
  }

  private transaction(bundle: Json): { status: number; body: unknown } {
    if (bundle.resourceType !== 'Bundle' || bundle.type !== 'transaction' || !this.validate(bundle, 'Bundle'))
      return outcome(400, 'structure', 'not a valid transaction Bundle');
    const entries = (bundle.entry ?? []) as {
      fullUrl: string;
      resource: Json;
      request: { method: string; url: string; ifNoneExist?: string };
    }[];
    for (const e of entries) {
      if (!this.validate(e.resource, e.resource.resourceType ?? 'resource'))
        return outcome(400, 'structure', 'invalid resource');
      const update =
        e.request.method === 'PUT' && e.request.url.startsWith(`${e.resource.resourceType}?identifier=`);
      if (!update && (e.request.method !== 'POST' || !e.request.ifNoneExist))
        return outcome(400, 'business-rule', 'only conditional creates and updates');
      const value = identifierOf(e.resource).split('|')[1]!;
      if (this.refuse.has(value)) return outcome(422, 'processing', 'the resource breaks a business rule');
    }
    // All or nothing: resolve every entry's id first, then store the new ones and the updates.
    const ids = new Map<string, string>();
    const fresh: StoredResource[] = [];
    const updates: { target: StoredResource; resource: Json }[] = [];
    const answers = entries.map((e) => {
      const type = String(e.resource.resourceType);
      const search =
        e.request.method === 'PUT' ? e.request.url.slice(type.length + 1) : e.request.ifNoneExist!;
      const identifier = decodeURIComponent(search.replace(/^identifier=/, ''));
      if (identifier !== identifierOf(e.resource))
        throw new Error('the condition does not name the identifier');
      const existing =
        this.byIdentifier.get(`${type}|${identifier}`) ??
        fresh.find((f) => `${f.resourceType}|${f.identifier}` === `${type}|${identifier}`);
      const id = existing?.id ?? randomBytes(8).toString('hex');
      ids.set(e.fullUrl, `${type}/${id}`);
      if (!existing) fresh.push({ id, resourceType: type, identifier, resource: e.resource });
      else if (e.request.method === 'PUT') updates.push({ target: existing, resource: e.resource });
      else if (type === 'Observation' || type === 'Communication') this.againAlreadyStored++;
      return { status: existing ? '200 OK' : '201 Created', location: `${type}/${id}/_history/1` };
    });
    for (const item of [...fresh, ...updates]) {
      item.resource = resolveReferences(item.resource, ids) as Json;
      if (danglingUrn(item.resource)) return outcome(400, 'invalid', 'a urn:uuid reference names no entry');
    }
    for (const f of fresh) {
      this.stored.push(f);
      this.byIdentifier.set(`${f.resourceType}|${f.identifier}`, f);
    }
    for (const u of updates) u.target.resource = u.resource;
    this.afterStore?.(this.stored.length);
    return {
      status: 200,
      body: {
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: answers.map((a) => ({ response: a })),
      },
    };
  }
}

function identifierOf(resource: Json): string {
  const first = (resource.identifier as { system: string; value: string }[] | undefined)?.[0];
  return first ? `${first.system}|${first.value}` : '';
}

function resolveReferences(value: unknown, ids: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids));
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value as Json)) out[k] = resolveReferences(v, ids);
  if (typeof out.reference === 'string' && ids.has(out.reference)) out.reference = ids.get(out.reference);
  return out;
}

function danglingUrn(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(danglingUrn);
  if (typeof value !== 'object' || value === null) return false;
  const ref = (value as Json).reference;
  if (typeof ref === 'string' && ref.startsWith('urn:')) return true;
  return Object.values(value as Json).some(danglingUrn);
}

function outcome(status: number, code: string, text: string) {
  return {
    status,
    body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] },
  };
}
