// The InfluxDB test fixture. In order: VITALGATE_TEST_INFLUX_URL if set; else the local `influxd`
// on free ports with a temp dir; else, when a container engine (Docker or Podman) answers, a
// failure saying how to use it (testcontainers is not a dependency); else a failure saying how
// to get an InfluxDB. It never skips. The local influxd comes before any container engine, so a
// CI runner that has both never depends on the engine (or on pulling an image) to set up.
// The global setup (global-setup.ts) provisions one instance for the run and provides its URL;
// each test file takes its own database with testInflux(). Tests that need to stop and restart
// InfluxDB start a private instance with startPrivateInflux(). Every local influxd of a run keeps
// its files under one scratch dir, which the global teardown sweeps: any influxd still running
// there is stopped and the dir removed, even when a test worker ended without cleaning up.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { InfluxClient, quoteIdentifier } from '../../core/influx.js';
import {
  influxdAvailable,
  startInfluxd,
  stopLeftoverInfluxd,
  type InfluxdProcess,
} from '../../hub/influxd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's InfluxDB (may carry credentials: `http://user:pass@host:8086`). */
    influxUrl: string;
    /** The run's scratch dir for private influxd instances (swept at teardown). */
    influxScratchDir: string;
  }
}

export const NO_INFLUX_MESSAGE =
  'no InfluxDB for the tests: install it (apt-get install influxdb) or set VITALGATE_TEST_INFLUX_URL to an InfluxDB 1.x URL';

export const CONTAINER_ENGINE_MESSAGE =
  'no local influxd, and a container engine is running but testcontainers is not a dependency of VitalGate: set VITALGATE_TEST_INFLUX_URL to an InfluxDB 1.x (e.g. docker run -p 8086:8086 influxdb:1.8), or install testcontainers@11 and start influxdb:1.8 from test/support/influx.ts';

/** A running InfluxDB for a test run: its URL, the scratch dir, and how to let it all go. */
export interface ProvisionedInflux {
  url: string;
  source: 'env' | 'local-influxd';
  scratchDir: string;
  /** Stops every influxd under the scratch dir and removes it. */
  stop(): Promise<void>;
}

/** Resolves the InfluxDB for this test run; used by the global setup. Throws one-line errors. */
export async function provisionInflux(env: NodeJS.ProcessEnv = process.env): Promise<ProvisionedInflux> {
  const scratchDir = mkdtempSync(join(tmpdir(), 'vg-test-influx-'));
  const stop = () => sweepScratch(scratchDir);
  try {
    const fromEnv = env.VITALGATE_TEST_INFLUX_URL;
    if (fromEnv) {
      const client = new InfluxClient({ url: fromEnv, database: '_internal', timeoutMs: 5_000 });
      if (!(await client.ping()))
        throw new Error(`VITALGATE_TEST_INFLUX_URL (${client.url}) does not answer GET /ping with 204`);
      return { url: fromEnv, source: 'env', scratchDir, stop };
    }
    if (influxdAvailable()) {
      const server = await startPrivateInflux({ dir: join(scratchDir, 'shared') });
      return { url: server.url, source: 'local-influxd', scratchDir, stop };
    }
    if (await containerEngineAnswers(env)) throw new Error(CONTAINER_ENGINE_MESSAGE);
    throw new Error(NO_INFLUX_MESSAGE);
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Stops any influxd left running under `scratchDir` (one level down) and removes the dir. */
async function sweepScratch(scratchDir: string): Promise<void> {
  const entries = existsSync(scratchDir) ? readdirSync(scratchDir, { withFileTypes: true }) : [];
  await Promise.all(
    entries.filter((e) => e.isDirectory()).map((e) => stopLeftoverInfluxd(join(scratchDir, e.name))),
  );
  rmSync(scratchDir, { recursive: true, force: true, maxRetries: 3 });
}

/** True when a Docker or Podman socket (DOCKER_HOST, or a default one) accepts a connection. */
export async function containerEngineAnswers(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const host = env.DOCKER_HOST;
  if (host) {
    if (host.startsWith('unix://')) return socketAnswers({ path: host.slice('unix://'.length) });
    const tcp = /^tcp:\/\/([^:/]+):(\d+)/.exec(host);
    if (tcp) return socketAnswers({ host: tcp[1]!, port: Number(tcp[2]) });
    return true; // ssh:// or npipe://: an engine is configured, and only testcontainers could reach it
  }
  const runtimeDir = env.XDG_RUNTIME_DIR;
  const candidates = [
    '/var/run/docker.sock',
    '/run/podman/podman.sock',
    join(homedir(), '.docker', 'run', 'docker.sock'),
    ...(runtimeDir ? [join(runtimeDir, 'docker.sock'), join(runtimeDir, 'podman', 'podman.sock')] : []),
  ];
  for (const path of candidates) if (existsSync(path) && (await socketAnswers({ path }))) return true;
  return false;
}

function socketAnswers(target: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface TestInflux {
  url: string;
  database: string;
  client: InfluxClient;
  /** Drops the database. */
  drop(): Promise<void>;
}

/** A fresh, uniquely named database on the run's InfluxDB (call it once per test file). */
export async function testInflux(): Promise<TestInflux> {
  const url = inject('influxUrl');
  if (!url) throw new Error(`${NO_INFLUX_MESSAGE} (is test/support/global-setup.ts in vitest.config.ts?)`);
  const database = `test_${randomBytes(6).toString('hex')}`;
  const client = new InfluxClient({ url, database });
  await client.createDatabase();
  return {
    url,
    database,
    client,
    drop: async () => {
      await client.query(`DROP DATABASE ${quoteIdentifier(database)}`);
    },
  };
}

/** A private influxd that a test stops, kills and starts again on the same port and data dir. */
export interface PrivateInflux {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Graceful stop (SIGTERM); the data stays for `start()`. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; the data stays for `start()`. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** Kills it and removes its dir when this fixture created it. */
  dispose(): Promise<void>;
}

/**
 * Starts an influxd of its own on a free loopback port, with its files in `dir` (by default a new
 * dir in the run's scratch dir). Started inside a test, it is disposed of when the test ends, pass
 * or fail. Started elsewhere (beforeAll), call stop() or dispose() in afterAll; the global
 * teardown stops and removes whatever is left in the scratch dir anyway.
 */
export async function startPrivateInflux(options: { dir?: string } = {}): Promise<PrivateInflux> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(scratchRoot(), 'private-'));
  let current: InfluxdProcess;
  try {
    current = await startInfluxd({ dir, port: 0 });
  } catch (err) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const port = current.port;
  let disposed = false;
  const server: PrivateInflux = {
    dir,
    port,
    url: current.url,
    stop: () => current.stop(),
    kill: () => current.kill(),
    async start() {
      if (disposed) throw new Error('this private InfluxDB was disposed of');
      await current.stop();
      current = await startInfluxd({ dir, port });
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await current.kill();
      if (ownDir) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  try {
    onTestFinished(() => server.dispose());
  } catch {
    // not inside a test: the caller disposes of it
  }
  return server;
}

/** The run's scratch dir inside a test worker; the system temp dir elsewhere. */
function scratchRoot(): string {
  try {
    const dir = inject('influxScratchDir');
    if (dir && existsSync(dir)) return dir;
  } catch {
    // not in a vitest worker
  }
  return tmpdir();
}
