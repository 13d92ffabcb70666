// A real hub for the API tests: test PKI, ingest pipeline into a real InfluxDB, the mutual-TLS
// broker in front of it, and the HTTPS API on a free port with the hub's server certificate.
// Requests go over real HTTPS (node:https with the hub CA); the clock can be moved forward.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import otplib from 'otplib';
import { Registry } from 'prom-client';
import { AlertLifecycle } from '../../../care/alert-lifecycle.js';
import { DeviceWatch } from '../../../care/device-watch.js';
import { Escalation } from '../../../care/escalation.js';
import { silentLogger } from '../../../core/logger.js';
import { DeviceBroker } from '../../../broker/device-broker.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import { buildApiServer, type ApiDeps } from '../../../dashboard-api/server.js';
import { InfluxTelemetryReader } from '../../../dashboard-api/telemetry/influx-reader.js';
import { rollupsSince } from '../../../ingest/rollup-sealing.js';
import { liveFeedFromBus } from '../../../dashboard-api/telemetry/live-feed.js';
import type { UserDirectory } from '../../../dashboard-api/services/user-directory.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { openPipeline } from '../../support/ingest.js';
import { testInflux, type TestInflux } from '../../support/influx.js';

export class TestClock {
  offset = 0;
  now = () => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: unknown;
  raw: Buffer;
}

export interface RequestExtras {
  token?: string;
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  cert?: string;
  key?: string;
  /** The client's source address (any 127.0.0.0/8 address works on loopback): another network. */
  localAddress?: string;
}

export class ApiClient {
  constructor(
    readonly port: number,
    readonly ca: string,
  ) {}

  request(method: string, path: string, extras: RequestExtras = {}): Promise<HttpResult> {
    const headers: Record<string, string> = { ...(extras.headers ?? {}) };
    let payload: Buffer | undefined;
    if (extras.rawBody !== undefined) payload = Buffer.from(extras.rawBody);
    else if (extras.body !== undefined) {
      payload = Buffer.from(JSON.stringify(extras.body));
      headers['content-type'] ??= 'application/json';
    }
    if (extras.token) headers.authorization = `Bearer ${extras.token}`;
    if (payload) headers['content-length'] = String(payload.length);
    const options: RequestOptions = {
      host: '127.0.0.1',
      port: this.port,
      method,
      path,
      headers,
      ca: this.ca,
      servername: 'localhost',
      ...(extras.cert ? { cert: extras.cert, key: extras.key } : {}),
      ...(extras.localAddress ? { localAddress: extras.localAddress } : {}),
      agent: false,
    };
    return new Promise((resolve, reject) => {
      const req = httpsRequest(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, raw });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Opens an SSE stream; collects events until closed. */
  stream(path: string, token: string) {
    const events: { event: string; data: unknown }[] = [];
    let status = 0;
    let ended = false;
    let buffer = '';
    let close: () => void = () => {};
    const opened = new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          method: 'GET',
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
          ca: this.ca,
          servername: 'localhost',
          agent: false,
        },
        (res) => {
          status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let i: number;
            while ((i = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, i);
              buffer = buffer.slice(i + 2);
              const event = /^event: (.+)$/m.exec(block)?.[1];
              const data = /^data: (.+)$/m.exec(block)?.[1];
              if (event && data) events.push({ event, data: JSON.parse(data) });
            }
          });
          res.on('end', () => (ended = true));
          res.on('close', () => (ended = true));
          resolve();
        },
      );
      req.on('error', reject);
      close = () => req.destroy();
      req.end();
    });
    return {
      opened,
      events,
      get status() {
        return status;
      },
      get ended() {
        return ended;
      },
      close: () => close(),
    };
  }
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface TestHub {
  pki: TestPki;
  influx: TestInflux;
  clock: TestClock;
  api: Awaited<ReturnType<typeof buildApiServer>>;
  client: ApiClient;
  broker: DeviceBroker;
  brokerPort: number;
  pipeline: ReturnType<typeof openPipeline>['pipeline'];
  alertLifecycle: AlertLifecycle;
  escalation: Escalation;
  deviceWatch: DeviceWatch;
  users: UserDirectory;
  deps: ApiDeps;
  /** Another API server on the same hub with other dependencies (a different network policy). */
  extraServer(overrides: Partial<ApiDeps>): Promise<{ client: ApiClient; close(): Promise<void> }>;
  close(): Promise<void>;
}

export async function startTestHub(): Promise<TestHub> {
  const pki = await createTestPki();
  const influx = await testInflux();
  const clock = new TestClock();
  const { pipeline, client: influxClient, config } = openPipeline(pki, influx);
  pipeline.start();
  const broker = new DeviceBroker({
    store: pki.store,
    limits: config,
    tls: {
      ...pki.authority.serverTls(),
      ca: pki.authority.caBundlePem(),
      crl: pki.authority.tlsRevocationPem(),
    },
    registry: new Registry(),
    logger: silentLogger(),
    intake: pipeline,
  });
  pki.authority.onRevocationListChange(() => broker.updateCrl(pki.authority.tlsRevocationPem()));
  const brokerPort = await broker.start({ host: '127.0.0.1', port: 0 });
  // The hub ticks it on a timer; tests call tick() with the clock moved on.
  const alertLifecycle = new AlertLifecycle({
    store: pki.store,
    keyring: pki.keyring,
    bus: pipeline.bus,
    now: clock.now,
  });
  const escalation = new Escalation({ store: pki.store, lifecycle: alertLifecycle, now: clock.now });
  const deviceWatch = new DeviceWatch({ store: pki.store, bus: pipeline.bus, now: clock.now });
  const deps: ApiDeps = {
    config,
    store: pki.store,
    keyring: pki.keyring,
    authority: pki.authority,
    lifecycle: new DeviceLifecycle(pki.store, pki.authority, { kicker: broker }),
    registry: new Registry(),
    telemetry: new InfluxTelemetryReader(influxClient, pki.keyring, {
      rollupsSince: () => rollupsSince(pki.store.meta),
    }),
    live: liveFeedFromBus(pipeline.bus),
    kicker: broker,
    readiness: [
      { name: 'influxdb', check: async () => ((await influxClient.ping()) ? true : 'unreachable') },
    ],
    rateLimits: { perMinute: 100_000, authPerMinute: 100_000 },
    liveCheckMs: 100,
    mqttEndpoint: { host: 'localhost', port: brokerPort },
    alertSettingsChanged: (patientId) => pipeline.alertSettings.forget(patientId),
    alertLifecycle,
    now: clock.now,
  };
  const api = await buildApiServer(deps);
  await api.listen({ host: '127.0.0.1', port: 0 });
  const port = (api.server.address() as { port: number }).port;
  const client = new ApiClient(port, pki.authority.caBundlePem());
  const extras: { close(): Promise<void> }[] = [];
  return {
    pki,
    influx,
    clock,
    api,
    client,
    broker,
    brokerPort,
    pipeline,
    alertLifecycle,
    escalation,
    deviceWatch,
    users: api.apiContext.users,
    deps,
    async extraServer(overrides) {
      const other = await buildApiServer({ ...deps, registry: new Registry(), ...overrides });
      await other.listen({ host: '127.0.0.1', port: 0 });
      const handle = {
        client: new ApiClient((other.server.address() as { port: number }).port, pki.authority.caBundlePem()),
        close: () => other.close(),
      };
      extras.push(handle);
      return handle;
    },
    async close() {
      for (const e of extras) await e.close();
      escalation.close();
      deviceWatch.close();
      alertLifecycle.close();
      await api.close();
      await broker.stop();
      await pipeline.stop();
      await influx.drop();
      pki.cleanup();
    },
  };
}

export const STRONG_PASSWORD = 'correct horse battery staple 42';

/** Creates an account and walks it through first login (password change, TOTP enrollment). */
export async function enrolledUser(hub: TestHub, username: string, role: string) {
  const { oneTimePassword } = await hub.users.create(username, role, 'test');
  const login = await hub.client.request('POST', '/api/v1/auth/login', {
    body: { username, password: oneTimePassword },
  });
  if (login.status !== 200) throw new Error(`login ${login.status} ${login.text}`);
  const changed = await hub.client.request('POST', '/api/v1/auth/login/password', {
    body: { challengeId: (login.body as { challengeId: string }).challengeId, newPassword: STRONG_PASSWORD },
  });
  const step = changed.body as { challengeId: string; totp: { secret: string } };
  const secret = step.totp.secret;
  const mfa = await hub.client.request('POST', '/api/v1/auth/mfa', {
    body: { challengeId: step.challengeId, code: totpCode(hub, secret) },
  });
  if (mfa.status !== 200) throw new Error(`mfa ${mfa.status} ${mfa.text}`);
  return { username, secret, token: (mfa.body as { token: string }).token };
}

export function totpCode(hub: TestHub, secret: string): string {
  return otplib.authenticator.clone({ epoch: hub.clock.now() }).generate(secret);
}

/** A fresh login (the clock moves one TOTP step on, so the code is a new one). */
export async function login(hub: TestHub, user: { username: string; secret: string }): Promise<string> {
  hub.clock.advance(30_000);
  const step = await hub.client.request('POST', '/api/v1/auth/login', {
    body: { username: user.username, password: STRONG_PASSWORD },
  });
  const mfa = await hub.client.request('POST', '/api/v1/auth/mfa', {
    body: {
      challengeId: (step.body as { challengeId: string }).challengeId,
      code: totpCode(hub, user.secret),
    },
  });
  if (mfa.status !== 200) throw new Error(`mfa ${mfa.status} ${mfa.text}`);
  return (mfa.body as { token: string }).token;
}

/**
 * Steps a session up with a fresh authenticator code (the clock moves one TOTP step on, so the
 * code is a new one), as sensitive actions demand (dashboard-api/auth/step-up.ts).
 */
export async function stepUp(hub: TestHub, user: { secret: string; token: string }): Promise<void> {
  hub.clock.advance(30_000);
  const res = await hub.client.request('POST', '/api/v1/auth/step-up', {
    token: user.token,
    body: { code: totpCode(hub, user.secret) },
  });
  if (res.status !== 200) throw new Error(`step-up ${res.status} ${res.text}`);
}
