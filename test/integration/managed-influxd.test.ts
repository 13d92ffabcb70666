import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import {
  INFLUXD_MISSING_MESSAGE,
  ManagedInflux,
  findInfluxd,
  freePort,
  influxdConfig,
} from '../../hub/influxd.js';

const dirs: string[] = [];
const running: ManagedInflux[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vg-managed-'));
  dirs.push(dir);
  return dir;
}
function managed(options: ConstructorParameters<typeof ManagedInflux>[0]): ManagedInflux {
  const m = new ManagedInflux(options);
  running.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.kill()));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` with PATH set to `path`, restoring it after. */
async function withPath<T>(path: string, body: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await body();
  } finally {
    process.env.PATH = saved;
  }
}

/** A directory holding a stand-in `influxd` shell script. */
function fakeInfluxd(script: string): string {
  const dir = dataDir();
  writeFileSync(join(dir, 'influxd'), `#!/bin/sh\n${script}\n`);
  chmodSync(join(dir, 'influxd'), 0o755);
  return dir;
}

describe('ManagedInflux', () => {
  it('starts under <dataDir>/influxdb on loopback, answers ping, logs to influxd.log, and stops', async () => {
    const dir = dataDir();
    const influx = await managed({ dataDir: dir, port: 0 }).start();
    expect(influx.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new InfluxClient({ url: influx.url, database: 'x' });
    expect(await client.ping()).toBe(true);
    const config = readFileSync(join(dir, 'influxdb', 'influxdb.conf'), 'utf8');
    expect(config).toContain(`bind-address = "127.0.0.1:${influx.port}"`);
    expect(config).toContain('reporting-enabled = false');
    expect(config).toContain(JSON.stringify(join(dir, 'influxdb', 'wal')));
    expect(existsSync(join(dir, 'influxdb', 'data'))).toBe(true);
    expect(readFileSync(join(dir, 'influxdb', 'influxd.log'), 'utf8')).toContain('InfluxDB');
    expect(existsSync(join(dir, 'influxdb', 'influxd.pid'))).toBe(true);
    await influx.stop();
    expect(await client.ping()).toBe(false);
    expect(existsSync(join(dir, 'influxdb', 'influxd.pid'))).toBe(false);
    await influx.stop(); // idempotent
  });

  it('takes a free port when the preferred one is busy, and says so', async () => {
    const blocker = createServer();
    const busy = await freePort();
    await new Promise<void>((r) => blocker.listen(busy, '127.0.0.1', r));
    try {
      const notices: string[] = [];
      const influx = await managed({
        dataDir: dataDir(),
        port: busy,
        onNotice: (l) => notices.push(l),
      }).start();
      expect(influx.port).not.toBe(busy);
      expect(notices).toEqual([`port ${busy} is busy; the managed InfluxDB uses a free port instead`]);
      expect(await new InfluxClient({ url: influx.url, database: 'x' }).ping()).toBe(true);
    } finally {
      blocker.close();
    }
  });

  it('stops an influxd left running on the same data dir before starting', async () => {
    const dir = dataDir();
    const orphan = await managed({ dataDir: dir, port: 0 }).start();
    const orphanUrl = orphan.url;
    const next = await managed({ dataDir: dir, port: 0 }).start();
    expect(await new InfluxClient({ url: orphanUrl, database: 'x' }).ping()).toBe(false);
    expect(await new InfluxClient({ url: next.url, database: 'x' }).ping()).toBe(true);
  });

  it('says in one line how to install InfluxDB when influxd is missing', async () => {
    const err = await withPath('/nonexistent', () => managed({ dataDir: dataDir(), port: 0 }).start()).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'INFLUXD_NOT_FOUND', message: INFLUXD_MISSING_MESSAGE });
    expect(INFLUXD_MISSING_MESSAGE).not.toContain('\n');
    expect(INFLUXD_MISSING_MESSAGE).toContain('apt-get install influxdb');
    expect(INFLUXD_MISSING_MESSAGE).toContain('VITALGATE_INFLUX_URL');
    expect(await withPath('', async () => findInfluxd())).toBeUndefined();
  });

  it('fails clearly, naming the log, when influxd exits while starting', async () => {
    const bin = fakeInfluxd('echo "run: open server: something broke" >&2; exit 3');
    const dir = dataDir();
    const err = await withPath(bin, () => managed({ dataDir: dir, port: 0 }).start()).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'INFLUXD_START_FAILED' });
    expect((err as Error).message).toContain('exited with code 3');
    expect((err as Error).message).toContain('something broke');
    expect((err as Error).message).toContain(join(dir, 'influxdb', 'influxd.log'));
  });

  it('tries other ports when the one it picked is taken before influxd binds it', async () => {
    const bin = fakeInfluxd(
      'echo x >> "${2%/*}/attempts"; echo "run: open server: listen tcp 127.0.0.1:1: bind: address already in use" >&2; exit 1',
    );
    const dir = dataDir();
    const err = await withPath(bin, () => managed({ dataDir: dir, port: 0 }).start()).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'INFLUXD_START_FAILED' });
    expect((err as Error).message).toContain('address already in use');
    expect(
      readFileSync(join(dir, 'influxdb', 'attempts'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(3);
  });

  it('times out with a clear error when influxd never answers /ping, and leaves no process', async () => {
    const bin = fakeInfluxd('exec /bin/sleep 30');
    const dir = dataDir();
    const err = await withPath(bin, () => managed({ dataDir: dir, port: 0, timeoutMs: 300 }).start()).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'INFLUXD_START_TIMEOUT' });
    expect(existsSync(join(dir, 'influxdb', 'influxd.pid'))).toBe(false);
    expect((err as Error).message).toMatch(/did not answer http:\/\/127\.0\.0\.1:\d+\/ping within 300 ms/);
  });

  it('writes a config with only loopback listeners and quoted paths', () => {
    const text = influxdConfig('/data dir/"x"', { http: 1234, rpc: 5678 });
    expect(text).toContain('bind-address = "127.0.0.1:5678"');
    expect(text).toContain('bind-address = "127.0.0.1:1234"');
    expect(text).toContain('dir = "/data dir/\\"x\\"/meta"');
    expect(text).toContain('store-enabled = false');
  });
});
