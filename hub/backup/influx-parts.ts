// InfluxDB in a whole-hub backup: `influxd backup -portable -db <db>` against the backup (RPC)
// service of the managed influxd (its address is the `bind-address` of the config the hub wrote
// under `<data dir>/influxdb`) or of an external InfluxDB (VITALGATE_INFLUX_BACKUP_ADDRESS, else
// the host of VITALGATE_INFLUX_URL on 8088), and `influxd restore -portable` into an empty one.
// Debian's influxd 1.6.7 takes `-db` (not `-database`) and `-host host:port`.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import { InfluxClient } from '../../core/influx.js';
import { liveHubFromStateFile } from '../checks/live.js';
import { findInfluxd, INFLUXD_MISSING_MESSAGE, startInfluxd, type InfluxdProcess } from '../influxd.js';

const execFileAsync = promisify(execFile);
const RPC_DEFAULT_PORT = 8088;

/** The RPC address in an influxd config this hub wrote (`bind-address` before any section). */
export function rpcAddressFromConfig(configFile: string): string | undefined {
  if (!existsSync(configFile)) return undefined;
  for (const line of readFileSync(configFile, 'utf8').split('\n')) {
    if (line.startsWith('[')) break;
    const match = /^bind-address\s*=\s*"([^"]+)"/.exec(line.trim());
    if (match) return match[1];
  }
  return undefined;
}

/** The managed influxd of `dataDir` when it runs (its pid file names a live process on our config). */
function runningManagedInflux(dataDir: string): { url: string; rpc: string } | undefined {
  const dir = join(dataDir, 'influxdb');
  const config = join(dir, 'influxdb.conf');
  const pidFile = join(dir, 'influxd.pid');
  if (!existsSync(pidFile)) return undefined;
  try {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(config)) return undefined;
  } catch {
    return undefined;
  }
  const text = readFileSync(config, 'utf8');
  const http = /\[http\][^[]*?bind-address\s*=\s*"([^"]+)"/.exec(text)?.[1];
  const rpc = rpcAddressFromConfig(config);
  return http && rpc ? { url: `http://${http}`, rpc } : undefined;
}

export interface InfluxEndpoint {
  client: InfluxClient;
  rpc: string;
  /** Stops what was started for this (a managed influxd of a stopped hub); a no-op otherwise. */
  release(): Promise<void>;
}

/**
 * Where the hub's InfluxDB answers, for a backup: the external one, the running managed one, or,
 * while the hub is stopped, its managed influxd started for the time of the backup.
 */
export async function hubInflux(config: HubConfig): Promise<InfluxEndpoint> {
  const credentials = { username: config.influxUsername, password: config.influxPassword };
  if (config.influxUrl) {
    const rpc = config.influxBackupAddress ?? `${new URL(config.influxUrl).hostname}:${RPC_DEFAULT_PORT}`;
    return {
      client: new InfluxClient({ url: config.influxUrl, database: config.influxDb, ...credentials }),
      rpc,
      release: async () => {},
    };
  }
  const running = runningManagedInflux(config.dataDir);
  if (running)
    return {
      client: new InfluxClient({ url: running.url, database: config.influxDb }),
      rpc: running.rpc,
      release: async () => {},
    };
  // Starting influxd on the data dir stops one left running there: never under a running hub.
  if (liveHubFromStateFile(config))
    throw new VitalGateError(
      'INFLUX_BACKUP_FAILED',
      'the hub is running but its managed InfluxDB was not found (no live influxd.pid); try again',
    );
  const started = await startInfluxd({ dir: join(config.dataDir, 'influxdb'), port: 0 });
  return endpointOf(started, join(config.dataDir, 'influxdb'), config.influxDb);
}

/** A started influxd as an endpoint; release() stops it. */
export function endpointOf(process: InfluxdProcess, dir: string, database: string): InfluxEndpoint {
  const rpc = rpcAddressFromConfig(join(dir, 'influxdb.conf'));
  if (!rpc) throw new VitalGateError('INFLUX_BACKUP_FAILED', `no backup address in ${dir}/influxdb.conf`);
  return { client: new InfluxClient({ url: process.url, database }), rpc, release: () => process.stop() };
}

async function runInfluxd(args: string[], what: string): Promise<void> {
  const binary = findInfluxd();
  if (!binary) throw new VitalGateError('INFLUXD_NOT_FOUND', INFLUXD_MISSING_MESSAGE);
  try {
    await execFileAsync(binary, args, { maxBuffer: 16 * 1024 * 1024, timeout: 30 * 60_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    const line = stderr
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop();
    throw new VitalGateError(
      what === 'backup' ? 'INFLUX_BACKUP_FAILED' : 'INFLUX_RESTORE_FAILED',
      `influxd ${what} failed${line ? `: ${line.slice(0, 200)}` : ''}`,
    );
  }
}

/** `influxd backup -portable` of `database` into the empty directory `to`. */
export async function backupInflux(rpc: string, database: string, to: string): Promise<void> {
  await runInfluxd(['backup', '-portable', '-db', database, '-host', rpc, to], 'backup');
}

/** `influxd restore -portable` of `database` from `from` as `newDb`, which must not exist there. */
export async function restoreInflux(
  rpc: string,
  database: string,
  from: string,
  newDb = database,
): Promise<void> {
  const rename = newDb === database ? [] : ['-newdb', newDb];
  await runInfluxd(['restore', '-portable', '-db', database, ...rename, '-host', rpc, from], 'restore');
}

/** Whether the client's database exists (a hub that never started has none yet). */
export async function databaseExists(client: InfluxClient): Promise<boolean> {
  const databases = await client.query('SHOW DATABASES');
  return databases.some((s) => s.rows.some((r) => r.name === client.database));
}

/** Points per measurement with time in [from, to] (the largest field count of each). */
export async function countPoints(
  client: InfluxClient,
  from: Date,
  to: Date,
): Promise<Record<string, number>> {
  if (!(await databaseExists(client))) return {};
  const series = await client.query(
    `SELECT count(*) FROM /.*/ WHERE time >= '${from.toISOString()}' AND time <= '${to.toISOString()}'`,
  );
  const points: Record<string, number> = {};
  for (const s of series) {
    const row = s.rows[0] ?? {};
    const counts = Object.entries(row)
      .filter(([k]) => k.startsWith('count_'))
      .map(([, v]) => Number(v) || 0);
    points[s.name] = Math.max(0, ...counts);
  }
  return points;
}
