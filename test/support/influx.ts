// The InfluxDB test fixture. In order: VITALGATE_TEST_INFLUX_URL if set; else a container
// runtime (testcontainers with influxdb:1.8) when one exists; else the local `influxd` binary on
// free ports with a temp dir; else a failure saying how to get one. It never skips.
// The global setup starts one instance per run; each test file gets its own database.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { influxdAvailable, startInfluxd, type InfluxdProcess } from '../../hub/influxd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    influxUrl: string;
  }
}

export const NO_INFLUX_MESSAGE =
  'no InfluxDB for the tests: install it (apt-get install influxdb) or set VITALGATE_TEST_INFLUX_URL to an InfluxDB 1.x URL';

function containerRuntimePresent(): boolean {
  return (
    Boolean(process.env.DOCKER_HOST) ||
    existsSync('/var/run/docker.sock') ||
    existsSync('/run/podman/podman.sock')
  );
}

/** Resolves the URL of an InfluxDB for this test run; used by the global setup. */
export async function provisionInflux(): Promise<{ url: string; stop(): Promise<void> }> {
  const fromEnv = process.env.VITALGATE_TEST_INFLUX_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };
  if (containerRuntimePresent() && !influxdAvailable()) {
    // testcontainers 11.14 (influxdb:1.8) is the route where a container engine exists; it is
    // not a dependency of this project, so say how to proceed instead of skipping.
    throw new Error(`${NO_INFLUX_MESSAGE} (a container engine is present: run influxdb:1.8 and set the URL)`);
  }
  if (!influxdAvailable()) throw new Error(NO_INFLUX_MESSAGE);
  const server = await startPrivateInflux();
  return { url: server.url, stop: () => server.stop() };
}

export interface TestInflux {
  url: string;
  database: string;
  client: InfluxClient;
  drop(): Promise<void>;
}

/** A fresh, uniquely named database on the run's InfluxDB. */
export async function testInflux(): Promise<TestInflux> {
  const url = inject('influxUrl');
  if (!url) throw new Error(NO_INFLUX_MESSAGE);
  const database = `test_${randomBytes(6).toString('hex')}`;
  const client = new InfluxClient({ url, database });
  await client.createDatabase();
  return {
    url,
    database,
    client,
    drop: () => client.query(`DROP DATABASE "${database}"`).then(() => undefined),
  };
}

/** A private influxd that a test may stop, kill and start again on the same port and data. */
export async function startPrivateInflux(dir = mkdtempSync(join(tmpdir(), 'vg-influx-'))) {
  let current: InfluxdProcess = await startInfluxd({ dir, port: 0 });
  const port = current.port;
  return {
    dir,
    get url() {
      return current.url;
    },
    async stop() {
      await current.stop();
    },
    async kill() {
      await current.kill();
    },
    async start() {
      current = await startInfluxd({ dir, port });
    },
  };
}
