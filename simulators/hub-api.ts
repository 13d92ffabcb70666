// A small HTTPS client for the hub's API, as a device or an operator script uses it: the hub CA
// as the only trust anchor, an optional client certificate (renewal over mutual TLS), an
// optional source address, and the API's error shape turned into VitalGateError values. A 429
// is waited out (the API says how long) a few times before it becomes an error.
import { request, type RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import { VitalGateError } from '../core/errors.js';

export interface HubApiOptions {
  /** e.g. https://localhost:8443 */
  baseUrl: string;
  /** The hub CA bundle (PEM). */
  ca: string;
  /** Source address for every request (a fleet spreads its devices over loopback addresses). */
  localAddress?: string | undefined;
  timeoutMs?: number;
  /** How many 429 answers are waited out per request. Default 3. */
  rateLimitRetries?: number;
}

export interface HubApiRequest {
  body?: unknown;
  token?: string | undefined;
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string | undefined;
  key?: string | undefined;
}

export interface HubApiResponse {
  status: number;
  text: string;
  json: unknown;
}

const MAX_RATE_LIMIT_WAIT_MS = 65_000;

/** Where a host name connects: `localhost` goes to IPv4 loopback (the hub's default bind). */
export function connectHost(host: string): string {
  return host === 'localhost' ? '127.0.0.1' : host;
}

/** The name to verify the server certificate against (an IP address is matched as such). */
export function serverName(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}

export class HubApi {
  private readonly url: URL;

  constructor(readonly options: HubApiOptions) {
    this.url = new URL(options.baseUrl);
    if (this.url.protocol !== 'https:') {
      throw new VitalGateError('USAGE', `the hub API must be https (got ${this.url.protocol})`);
    }
  }

  /** The same API from another source address. */
  from(localAddress: string | undefined): HubApi {
    return new HubApi({ ...this.options, localAddress });
  }

  get host(): string {
    return this.url.hostname.replace(/^\[|\]$/g, '');
  }

  /** JSON request; a non-2xx answer throws a VitalGateError with the API's code. */
  async json<T>(method: string, path: string, extras: HubApiRequest = {}): Promise<T> {
    const response = await this.send(method, path, extras);
    if (response.status >= 200 && response.status < 300) return response.json as T;
    throw apiError(response, method, path);
  }

  /** Any request; answers as they come (after waiting out rate limits). */
  async send(method: string, path: string, extras: HubApiRequest = {}): Promise<HubApiResponse> {
    const retries = this.options.rateLimitRetries ?? 3;
    for (let attempt = 0; ; attempt += 1) {
      const response = await this.once(method, path, extras);
      if (response.status !== 429 || attempt >= retries) return response;
      const retryAfter = Number(
        (response.json as { error?: { details?: { retryAfterSeconds?: unknown } } } | undefined)?.error
          ?.details?.retryAfterSeconds,
      );
      const waitMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 5_000;
      await new Promise((r) =>
        setTimeout(r, Math.min(waitMs + Math.random() * 1000, MAX_RATE_LIMIT_WAIT_MS)),
      );
    }
  }

  private once(method: string, path: string, extras: HubApiRequest): Promise<HubApiResponse> {
    const payload = extras.body === undefined ? undefined : Buffer.from(JSON.stringify(extras.body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (extras.token) headers.authorization = `Bearer ${extras.token}`;
    const host = this.host;
    const servername = serverName(host);
    const options: RequestOptions = {
      host: connectHost(host),
      port: Number(this.url.port || 443),
      method,
      path: `${this.url.pathname.replace(/\/$/, '')}${path}`,
      headers,
      ca: this.options.ca,
      ...(servername ? { servername } : {}),
      ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
      ...(extras.cert && extras.key ? { cert: extras.cert, key: extras.key } : {}),
      agent: false,
      timeout: this.options.timeoutMs ?? 15_000,
    };
    return new Promise((resolve, reject) => {
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          new VitalGateError(
            'HUB_UNREACHABLE',
            `cannot reach the hub API at ${this.options.baseUrl}: ${err.code ?? err.message}`,
          ),
        ),
      );
      req.end(payload);
    });
  }
}

function apiError(response: HubApiResponse, method: string, path: string): VitalGateError {
  const error = (response.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${response.status}`;
  return new VitalGateError(code, `${method} ${path}: ${message}`, { status: response.status });
}
