// The hub as a client of an EHR's FHIR server: HTTPS with the server's certificate verified
// (against the configured CA bundle, else the system's), and authorization either as a SMART
// Backend Services client (a `client_credentials` grant with a `private_key_jwt` assertion signed
// with this hub's key, ES384 or RS384; the token is kept until shortly before it lapses) or with
// a bearer token read from a file at each use (so it can be replaced without a restart).
// Errors name statuses and codes, never what was sent.
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { SignJWT } from 'jose';
import { verdictOf, type PushVerdict } from './push-transaction.js';

export type EhrAuth =
  | { kind: 'bearer'; tokenFile: string }
  | { kind: 'smart'; tokenUrl: string; clientId: string; keyFile: string; scope: string };

export interface EhrDestination {
  /** The destination's name in the outbox and in metrics. */
  name: string;
  /** The FHIR base URL (https). */
  baseUrl: string;
  /** PEM CA bundle the EHR's certificate must chain to; the system's CAs when absent. */
  ca?: string | undefined;
  auth: EhrAuth;
  timeoutMs: number;
}

interface HttpAnswer {
  status: number;
  body: unknown;
  retryAfter?: string | undefined;
}

const TOKEN_MARGIN_MS = 30_000;

export class EhrClient {
  private readonly agent: Agent;
  private token?: { value: string; until: number };
  private key?: { key: KeyObject; alg: 'ES384' | 'RS384' };

  constructor(
    readonly destination: EhrDestination,
    private readonly now: () => number = Date.now,
  ) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 4,
      ...(destination.ca ? { ca: destination.ca } : {}),
      rejectUnauthorized: true,
    });
  }

  /** Sends one transaction Bundle and says what its answer means. */
  async transaction(bundle: unknown): Promise<PushVerdict> {
    let answer: HttpAnswer;
    try {
      answer = await this.fhir('POST', '', bundle);
      if (answer.status === 401) {
        this.token = undefined; // a token the EHR no longer takes: one fresh try
        answer = await this.fhir('POST', '', bundle);
      }
    } catch (err) {
      return { kind: 'retry', error: errorName(err) };
    }
    return verdictOf(answer.status, answer.body, answer.retryAfter);
  }

  /** GET metadata: the EHR's CapabilityStatement's status (for the deployment checks). */
  async metadata(): Promise<{ status: number; fhirVersion?: string | undefined }> {
    const answer = await this.send('GET', this.url('metadata'), undefined, {
      accept: 'application/fhir+json',
    });
    const body = answer.body as { fhirVersion?: string } | undefined;
    return { status: answer.status, fhirVersion: body?.fhirVersion };
  }

  /** An access token (SMART), or the bearer token file's content. Throws a coded error. */
  async accessToken(): Promise<string> {
    const auth = this.destination.auth;
    if (auth.kind === 'bearer') {
      const value = readFileSync(auth.tokenFile, 'utf8').trim();
      if (!value) throw new Error('EHR_TOKEN_EMPTY');
      return value;
    }
    if (this.token && this.token.until > this.now()) return this.token.value;
    const { key, alg } = this.signingKey(auth.keyFile);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg, typ: 'JWT' })
      .setIssuer(auth.clientId)
      .setSubject(auth.clientId)
      .setAudience(auth.tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(Math.floor(this.now() / 1000))
      .setExpirationTime(Math.floor(this.now() / 1000) + 300)
      .sign(key);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: auth.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }).toString();
    const answer = await this.send('POST', new URL(auth.tokenUrl), form, {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    });
    const body = answer.body as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (answer.status !== 200 || typeof body?.access_token !== 'string')
      throw new Error(`EHR_TOKEN_REFUSED: HTTP ${answer.status}`);
    const seconds = typeof body.expires_in === 'number' ? body.expires_in : 300;
    this.token = { value: body.access_token, until: this.now() + seconds * 1000 - TOKEN_MARGIN_MS };
    return this.token.value;
  }

  close(): void {
    this.agent.destroy();
  }

  private signingKey(file: string) {
    if (!this.key) {
      const key = createPrivateKey(readFileSync(file, 'utf8'));
      const alg =
        key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1'
          ? 'ES384'
          : key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
            ? 'RS384'
            : undefined;
      if (!alg) throw new Error('EHR_KEY_UNSUITABLE: the push key is EC P-384 or RSA of 2048 bits or more');
      this.key = { key, alg };
    }
    return this.key;
  }

  private url(path: string): URL {
    const base = this.destination.baseUrl.replace(/\/+$/, '');
    return new URL(path ? `${base}/${path}` : base);
  }

  private async fhir(method: string, path: string, body: unknown): Promise<HttpAnswer> {
    const token = await this.accessToken();
    return this.send(method, this.url(path), JSON.stringify(body), {
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      authorization: `Bearer ${token}`,
    });
  }

  private send(
    method: string,
    url: URL,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<HttpAnswer> {
    if (url.protocol !== 'https:') return Promise.reject(new Error('EHR_NOT_HTTPS'));
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, headers, timeout: this.destination.timeoutMs });
      req.on('timeout', () => req.destroy(new Error('EHR_TIMEOUT')));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, body: parsed, retryAfter });
        });
      });
      req.end(body);
    });
  }
}

/** A network error as a code (ECONNREFUSED, CERT_HAS_EXPIRED …), never a message with content. */
export function errorName(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  const m = typeof e.message === 'string' ? /^[A-Z_]{4,}/.exec(e.message) : null;
  return m ? m[0] : 'EHR_UNREACHABLE';
}
