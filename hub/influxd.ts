// The managed local InfluxDB: `influxd` as a child process with its config and data under a
// directory of ours, on loopback. `vitalgate start` uses it when VITALGATE_INFLUX_URL is unset,
// and the test fixture uses the same code.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { VitalGateError } from '../core/errors.js';

export const INFLUXD_MISSING_MESSAGE =
  'influxd not found: install InfluxDB 1.x (Debian/Ubuntu: apt-get install influxdb) or point the hub at an existing one with VITALGATE_INFLUX_URL';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export function influxdAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v influxd'], { stdio: 'ignore' }).status === 0;
}

function configText(dir: string, httpPort: number, rpcPort: number): string {
  return [
    'reporting-enabled = false',
    `bind-address = "127.0.0.1:${rpcPort}"`,
    '[meta]',
    `  dir = "${join(dir, 'meta')}"`,
    '[data]',
    `  dir = "${join(dir, 'data')}"`,
    `  wal-dir = "${join(dir, 'wal')}"`,
    '  query-log-enabled = false',
    '[monitor]',
    '  store-enabled = false',
    '[http]',
    `  bind-address = "127.0.0.1:${httpPort}"`,
    '  log-enabled = false',
    '[continuous_queries]',
    '  enabled = false',
    '',
  ].join('\n');
}

export interface InfluxdProcess {
  url: string;
  port: number;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, as a crash would. */
  kill(): Promise<void>;
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new VitalGateError('INFLUXD_FAILED', `influxd exited with code ${child.exitCode} while starting`);
    }
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(500) });
      await res.arrayBuffer();
      if (res.status === 204) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new VitalGateError('INFLUXD_FAILED', `influxd did not answer /ping within ${timeoutMs} ms`);
}

/**
 * An influxd left running on this data dir by a hub that was killed (kill -9 leaves children
 * behind) holds the data files' locks: stop it before starting a new one.
 */
async function stopOrphan(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const isInfluxd = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('influxd');
    } catch {
      return false;
    }
  };
  if (Number.isInteger(pid) && pid > 0 && isInfluxd()) {
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && isInfluxd(); i++) await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(pidFile, { force: true });
}

/**
 * Starts influxd with its files under `dir` on 127.0.0.1:`port` (0 = any free port) and waits
 * until it answers /ping. Its log goes to `<dir>/influxd.log`.
 */
export async function startInfluxd(options: {
  dir: string;
  port: number;
  timeoutMs?: number;
}): Promise<InfluxdProcess> {
  if (!influxdAvailable()) throw new VitalGateError('INFLUXD_NOT_FOUND', INFLUXD_MISSING_MESSAGE);
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  await stopOrphan(join(options.dir, 'influxd.pid'));
  const port = options.port === 0 ? await freePort() : options.port;
  const rpcPort = await freePort();
  const configFile = join(options.dir, 'influxdb.conf');
  writeFileSync(configFile, configText(options.dir, port, rpcPort));
  const log = openSync(join(options.dir, 'influxd.log'), 'a');
  const child = spawn('influxd', ['-config', configFile], { stdio: ['ignore', log, log] });
  closeSync(log);
  if (child.pid) writeFileSync(join(options.dir, 'influxd.pid'), String(child.pid));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForPing(url, child, options.timeoutMs ?? 20_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    port,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The managed InfluxDB of a hub: `<dataDir>/influxdb`, on the configured port or a free one. */
export async function startManagedInflux(
  dataDir: string,
  preferredPort: number,
  onNotice: (line: string) => void = () => {},
): Promise<InfluxdProcess> {
  let port = preferredPort;
  if (port !== 0 && !(await portIsFree(port))) {
    onNotice(`port ${port} is busy; the managed InfluxDB uses a free port instead`);
    port = 0;
  }
  return startInfluxd({ dir: join(dataDir, 'influxdb'), port });
}
