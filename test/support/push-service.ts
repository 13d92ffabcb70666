// A stand-in for a browser's push service, run by the tests and the alerts benchmark: a real
// HTTPS server on loopback (the hub's test server certificate) that receives what the hub sends
// per RFC 8030, checks the VAPID JWT (RFC 8292, ES256 under the key in `k=`), and decrypts the
// payload per RFC 8291/8188 with the private key of a browser subscription it made itself
// (node:crypto, independently of the library the hub sends with). Real push services (FCM,
// Mozilla, Apple) cannot be reached from a test; this is what stands in for them.
import { createECDH, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';

export interface ReceivedPush {
  path: string;
  at: number;
  headers: Record<string, string | string[] | undefined>;
  vapid: { publicKey: string; aud: string; sub: string; exp: number; alg: string };
  /** The decrypted payload. */
  text: string;
  status: number;
}

export interface FakeBrowser {
  /** What PushSubscription.toJSON() gives: endpoint on the stand-in, p256dh and auth. */
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } };
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
}

const hkdf = (salt: Buffer, ikm: Buffer, info: Buffer, length: number) =>
  Buffer.from(hkdfSync('sha256', ikm, salt, info, length));

/** RFC 8291 §3.4 / RFC 8188 §2: one aes128gcm record, decrypted with the subscription's keys. */
export function decryptPush(body: Buffer, browser: FakeBrowser): string {
  const salt = body.subarray(0, 16);
  const idLength = body[20]!;
  const asPublic = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  const uaPublic = browser.ecdh.getPublicKey();
  const ecdhSecret = browser.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hkdf(browser.auth, ecdhSecret, keyInfo, 32);
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02 and then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end).toString('utf8');
}

async function verifyVapid(authorization: string | undefined, origin: string) {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!m) throw new Error('no VAPID authorization');
  const [, jwt, k] = m as unknown as [string, string, string];
  const point = Buffer.from(k, 'base64url');
  const key = await importJWK(
    {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    'ES256',
  );
  const { payload } = await jwtVerify(jwt, key, { audience: origin, algorithms: ['ES256'] });
  if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') throw new Error('VAPID claims');
  if (payload.exp > Date.now() / 1000 + 24 * 3600) throw new Error('VAPID exp beyond 24 h');
  return {
    publicKey: k,
    aud: String(payload.aud),
    sub: payload.sub,
    exp: payload.exp,
    alg: decodeProtectedHeader(jwt).alg!,
  };
}

export class PushServiceStandIn {
  readonly received: ReceivedPush[] = [];
  /** Statuses to answer next, in order (then 201). */
  readonly answers: number[] = [];
  /** Requests refused because their VAPID JWT or encryption was wrong. */
  readonly refused: string[] = [];
  private readonly browsers = new Map<string, FakeBrowser>();
  private readonly waiters: (() => void)[] = [];
  private server: Server | undefined;
  origin = '';

  constructor(private readonly tls: { key: string; cert: string }) {}

  async start(): Promise<void> {
    this.server = createServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const browser = this.browsers.get(req.url ?? '');
          try {
            if (req.method !== 'POST' || !browser) throw new Error(`unknown endpoint ${req.url}`);
            if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error('not aes128gcm');
            if (!req.headers.ttl) throw new Error('no TTL');
            const vapid = await verifyVapid(req.headers.authorization, this.origin);
            const text = decryptPush(Buffer.concat(chunks), browser);
            const status = this.answers.shift() ?? 201;
            this.received.push({ path: req.url!, at: Date.now(), headers: req.headers, vapid, text, status });
            res.writeHead(status).end();
          } catch (err) {
            this.refused.push((err as Error).message);
            res.writeHead(400).end();
          }
          for (const w of this.waiters.splice(0)) w();
        })();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A new browser subscription whose pushes come to this stand-in. */
  browser(): FakeBrowser {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const path = `/push/${randomBytes(12).toString('base64url')}`;
    const browser: FakeBrowser = {
      ecdh,
      auth,
      subscription: {
        endpoint: `${this.origin}${path}`,
        keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
      },
    };
    this.browsers.set(path, browser);
    return browser;
  }

  /** Pushes received at a browser's endpoint. */
  for(browser: FakeBrowser): ReceivedPush[] {
    const path = new URL(browser.subscription.endpoint).pathname;
    return this.received.filter((r) => r.path === path);
  }

  /** Resolves once `n` pushes (accepted or refused) have arrived in all; waits on arrivals, not on time. */
  async waitForCount(n: number, timeoutMs = 10_000): Promise<void> {
    const start = Date.now();
    while (this.received.length + this.refused.length < n) {
      const left = timeoutMs - (Date.now() - start);
      if (left <= 0)
        throw new Error(
          `push stand-in: ${this.received.length + this.refused.length} of ${n} pushes arrived`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
