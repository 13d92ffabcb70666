// The managed local InfluxDB: `influxd` as a child process with its config, data and log under a
// directory of ours, on loopback. `vitalgate start` uses it (ManagedInflux) when
// VITALGATE_INFLUX_URL is unset; the test fixture starts its instances with the same code
// (startInfluxd).
import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { VitalGateError } from '../core/errors.js';

export const INFLUXD_MISSING_MESSAGE =
  'influxd not found: install InfluxDB 1.x (Debian/Ubuntu: apt-get install influxdb) or point the hub at an existing one with VITALGATE_INFLUX_URL';

/** The port the managed InfluxDB prefers, as InfluxDB itself does. */
export const DEFAULT_INFLUX_PORT = 8086;

const LOOPBACK = '127.0.0.1';
const START_ATTEMPTS = 3;

/** The absolute path of `influxd` on `searchPath` (PATH by default), if there is one. */
export function findInfluxd(searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'influxd');
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function influxdAvailable(): boolean {
  return findInfluxd() !== undefined;
}

export function freePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function portIsFree(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The influxd config: everything under `dir`, HTTP and RPC on loopback, no phoning home. */
export function influxdConfig(dir: string, ports: { http: number; rpc: number }): string {
  const path = (p: string) => JSON.stringify(join(dir, p));
  return [
    'reporting-enabled = false',
    `bind-address = "${LOOPBACK}:${ports.rpc}"`,
    '[meta]',
    `  dir = ${path('meta')}`,
    '[data]',
    `  dir = ${path('data')}`,
    `  wal-dir = ${path('wal')}`,
    '  query-log-enabled = false',
    '[monitor]',
    '  store-enabled = false',
    '[http]',
    `  bind-address = "${LOOPBACK}:${ports.http}"`,
    '  log-enabled = false',
    '[continuous_queries]',
    '  enabled = false',
    '',
  ].join('\n');
}

/** A running influxd child process. */
export interface InfluxdProcess {
  readonly url: string;
  readonly port: number;
  /** SIGTERM, then SIGKILL after `graceMs` (5 s by default). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, as a crash would. */
  kill(): Promise<void>;
  /** Resolves when the process has ended, for whatever reason. */
  readonly exited: Promise<void>;
}

export interface StartInfluxdOptions {
  /** Holds influxdb.conf, influxd.log, influxd.pid and the meta/data/wal dirs. */
  dir: string;
  /** HTTP port on 127.0.0.1; 0 = any free port. */
  port: number;
  /** How long to wait for /ping to answer 204; 20 s by default. */
  timeoutMs?: number;
}

/**
 * Starts influxd with its files under `dir` on 127.0.0.1:`port` and waits until it answers
 * /ping. Its output is appended to `<dir>/influxd.log`. An influxd left running on the same dir
 * (a hub killed with SIGKILL leaves its children behind) is stopped first. When a port chosen
 * here turns out to be taken by the time influxd binds it, it tries again with other ports.
 */
export async function startInfluxd(options: StartInfluxdOptions): Promise<InfluxdProcess> {
  const binary = findInfluxd();
  if (!binary) throw new VitalGateError('INFLUXD_NOT_FOUND', INFLUXD_MISSING_MESSAGE);
  const files = influxdFiles(options.dir);
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  await stopOrphan(files);
  for (let attempt = 1; ; attempt++) {
    const port = options.port === 0 ? await freePort() : options.port;
    try {
      return await launch(binary, files, port, options.timeoutMs ?? 20_000);
    } catch (err) {
      const retry =
        err instanceof VitalGateError && err.details?.portTaken === true && attempt < START_ATTEMPTS;
      if (!retry) throw err;
    }
  }
}

interface InfluxdFiles {
  dir: string;
  config: string;
  log: string;
  pid: string;
}

function influxdFiles(dir: string): InfluxdFiles {
  return {
    dir,
    config: join(dir, 'influxdb.conf'),
    log: join(dir, 'influxd.log'),
    pid: join(dir, 'influxd.pid'),
  };
}

async function launch(binary: string, files: InfluxdFiles, port: number, timeoutMs: number) {
  writeFileSync(files.config, influxdConfig(files.dir, { http: port, rpc: await freePort() }), {
    mode: 0o600,
  });
  const logFd = openSync(files.log, 'a', 0o600);
  const logStart = statSync(files.log).size;
  const child = spawn(binary, ['-config', files.config], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
    child.once('exit', () => resolve());
  });
  const isRunning = () => child.exitCode === null && child.signalCode === null && !spawnError;
  // If this process ends without stopping it, influxd is asked to shut down too.
  const onExit = () => {
    if (isRunning()) child.kill('SIGTERM');
  };
  process.on('exit', onExit);
  void exited.then(() => {
    process.off('exit', onExit);
    // The pid file names the running instance only; a newer instance may have replaced it.
    if (existsSync(files.pid) && readFileSync(files.pid, 'utf8') === String(child.pid)) rmSync(files.pid);
  });
  if (child.pid) writeFileSync(files.pid, String(child.pid), { mode: 0o600 });

  const url = `http://${LOOPBACK}:${port}`;
  const up = await Promise.race([waitForPing(url, timeoutMs), exited.then(() => 'exited' as const)]);
  if (up !== true) {
    if (isRunning()) {
      child.kill('SIGKILL');
      await exited;
    }
    const lastLine = lastErrorLine(files.log, logStart);
    if (up === 'exited') {
      throw new VitalGateError(
        'INFLUXD_START_FAILED',
        `influxd ${spawnError ? 'could not be started' : `exited with code ${child.exitCode ?? child.signalCode}`} while starting${lastLine ? `: ${lastLine}` : ''} (log: ${files.log})`,
        { portTaken: /address already in use/.test(lastLine ?? ''), port },
      );
    }
    throw new VitalGateError(
      'INFLUXD_START_TIMEOUT',
      `influxd did not answer ${url}/ping within ${timeoutMs} ms (log: ${files.log})`,
      { port },
    );
  }

  const stop = async (graceMs = 5_000) => {
    if (!isRunning()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    if (!isRunning()) return;
    child.kill('SIGKILL');
    await exited;
  };
  return { url, port, stop, kill, exited } satisfies InfluxdProcess;
}

/** Resolves true once /ping answers 204, false at the deadline. */
async function waitForPing(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(500) });
      await res.arrayBuffer();
      if (res.status === 204) return true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** The last line influxd wrote since `from` that reports an error, shortened for one-line errors. */
function lastErrorLine(logFile: string, from: number): string | undefined {
  try {
    const size = statSync(logFile).size;
    const start = Math.max(from, size - 8_192);
    const buffer = Buffer.alloc(size - start);
    const fd = openSync(logFile, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, start);
    } finally {
      closeSync(fd);
    }
    const lines = buffer
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim());
    const line = lines.filter((l) => /error|fail|run: /i.test(l)).pop();
    return line?.slice(0, 240);
  } catch {
    return undefined;
  }
}

/**
 * Stops an influxd still running on `dir` (its command line names our config file): it holds the
 * data files' locks and maybe the port. startInfluxd does this before starting a new one.
 */
export async function stopLeftoverInfluxd(dir: string): Promise<void> {
  await stopOrphan(influxdFiles(dir));
}

async function stopOrphan(files: InfluxdFiles): Promise<void> {
  if (!existsSync(files.pid)) return;
  const pid = Number(readFileSync(files.pid, 'utf8'));
  const isOurs = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(files.config);
    } catch {
      return false;
    }
  };
  if (Number.isSafeInteger(pid) && pid > 0 && isOurs()) {
    signal(pid, 'SIGTERM');
    for (let waited = 0; isOurs(); waited += 50) {
      if (waited === 5_000) signal(pid, 'SIGKILL');
      if (waited > 10_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  rmSync(files.pid, { force: true });
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already, or not ours to signal
  }
}

export interface ManagedInfluxOptions {
  /** The hub's data dir; InfluxDB lives in `<dataDir>/influxdb`. */
  dataDir: string;
  /** Preferred HTTP port on 127.0.0.1 (8086 by default); 0 = any free port. */
  port?: number;
  /** How long to wait for /ping after starting; 20 s by default. */
  timeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL; 10 s by default. */
  graceMs?: number;
  /** Receives one-line notices, such as a busy preferred port. */
  onNotice?: (line: string) => void;
}

/**
 * The hub's own InfluxDB, for `vitalgate start` when VITALGATE_INFLUX_URL is unset: config,
 * meta/data/wal and influxd.log under `<dataDir>/influxdb`, HTTP on loopback.
 */
export class ManagedInflux implements InfluxdProcess {
  readonly dir: string;
  private running: InfluxdProcess | undefined;

  constructor(private readonly options: ManagedInfluxOptions) {
    this.dir = join(options.dataDir, 'influxdb');
  }

  get logFile(): string {
    return join(this.dir, 'influxd.log');
  }

  /** The URL while running. */
  get url(): string {
    if (!this.running) throw new VitalGateError('INFLUXD_NOT_RUNNING', 'the managed InfluxDB is not running');
    return this.running.url;
  }

  get port(): number {
    if (!this.running) throw new VitalGateError('INFLUXD_NOT_RUNNING', 'the managed InfluxDB is not running');
    return this.running.port;
  }

  /**
   * Starts influxd and waits for /ping. When the preferred port is busy it takes a free one and
   * says so through `onNotice`. Throws INFLUXD_NOT_FOUND, INFLUXD_START_FAILED or
   * INFLUXD_START_TIMEOUT.
   */
  async start(): Promise<this> {
    if (this.running) return this;
    let port = this.options.port ?? DEFAULT_INFLUX_PORT;
    if (port !== 0 && !(await portIsFree(port))) {
      this.options.onNotice?.(`port ${port} is busy; the managed InfluxDB uses a free port instead`);
      port = 0;
    }
    this.running = await startInfluxd({
      dir: this.dir,
      port,
      ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
    });
    return this;
  }

  /** SIGTERM, then SIGKILL after the grace period. A no-op when not running. */
  async stop(graceMs = this.options.graceMs ?? 10_000): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.stop(graceMs);
  }

  async kill(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.kill();
  }

  /** SIGKILL to the running influxd, as kill() does, but restart() keeps its port. */
  async killForRestart(): Promise<void> {
    await this.running?.kill();
  }

  /** Resolves when the running influxd ends (a crash, a kill, or stop()). */
  get exited(): Promise<void> {
    if (!this.running) throw new VitalGateError('INFLUXD_NOT_RUNNING', 'the managed InfluxDB is not running');
    return this.running.exited;
  }

  /**
   * Starts influxd again after it ended, on the same port (clients keep their URL), and waits for
   * /ping. Throws as start() does; the caller tries again later.
   */
  async restart(): Promise<void> {
    const port = this.running?.port ?? this.options.port ?? DEFAULT_INFLUX_PORT;
    await this.running?.kill();
    this.running = undefined;
    this.running = await startInfluxd({
      dir: this.dir,
      port,
      ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
    });
  }
}
