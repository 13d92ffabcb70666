import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient, escapeKey, escapeMeasurement, quoteLiteral, stringField } from '../../core/influx.js';
import { INFLUXD_MISSING_MESSAGE, startManagedInflux } from '../../hub/influxd.js';
import { startPrivateInflux, testInflux, type TestInflux } from '../support/influx.js';

let influx: TestInflux;
beforeAll(async () => {
  influx = await testInflux();
});
afterAll(() => influx.drop());

describe('InfluxDB fixture and client', () => {
  it('round-trips points with escaped tags and string fields', async () => {
    const t = 1_795_386_343_000;
    await influx.client.writeLines([
      `${escapeMeasurement('tele metry')},${escapeKey('dev ice')}=${escapeKey('a,b=c')} ${escapeKey('ct')}=${stringField('x"y\\z')},kv=3i ${t}`,
      `${escapeMeasurement('tele metry')},${escapeKey('dev ice')}=other ct=${stringField('plain')},kv=4i ${t + 1}`,
    ]);
    const series = await influx.client.query(
      `SELECT * FROM "tele metry" WHERE "dev ice" = ${quoteLiteral('a,b=c')}`,
    );
    expect(series).toHaveLength(1);
    expect(series[0]!.rows).toEqual([{ time: t, ct: 'x"y\\z', 'dev ice': 'a,b=c', kv: 3 }]);
    const all = await influx.client.query('SELECT count(kv) FROM "tele metry"');
    expect(all[0]!.rows[0]!.count).toBe(2);
  });

  it('refuses newlines in line-protocol values', () => {
    expect(() => escapeKey('a\nb')).toThrow(expect.objectContaining({ code: 'INFLUX_BAD_INPUT' }));
    expect(() => stringField('a\rb')).toThrow(expect.objectContaining({ code: 'INFLUX_BAD_INPUT' }));
  });

  it('creates and alters a default retention policy', async () => {
    await influx.client.ensureRetentionPolicy('raw', 90, { default: true });
    await influx.client.ensureRetentionPolicy('raw', 30, { default: true });
    const [policies] = await influx.client.query(`SHOW RETENTION POLICIES ON "${influx.database}"`);
    expect(policies!.rows.find((r) => r.name === 'raw')).toMatchObject({
      duration: '720h0m0s',
      default: true,
    });
  });

  it('reports a coded error, without data, when InfluxDB is down; and works again after a restart', async () => {
    const server = await startPrivateInflux();
    const client = new InfluxClient({ url: server.url, database: 'outage', timeoutMs: 2_000 });
    await client.createDatabase();
    await client.writeLines(['m v=1i 1000']);
    await server.stop();
    expect(await client.ping()).toBe(false);
    await expect(client.writeLines(['m v=2i 2000'])).rejects.toMatchObject({ code: 'INFLUX_UNAVAILABLE' });
    await server.start();
    await client.writeLines(['m v=2i 2000']);
    const [series] = await client.query('SELECT count(v) FROM m');
    expect(series!.rows[0]!.count).toBe(2);
    await server.stop();
  });

  it('reports a refused write without echoing the line', async () => {
    const err = await influx.client
      .writeLines(['this is not line protocol secret-ish'])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INFLUX_WRITE_FAILED', details: { status: 400 } });
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain('secret-ish');
  });
});

describe('managed influxd', () => {
  it('starts under the data dir on a free port, answers ping, and stops', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vg-managed-'));
    const notices: string[] = [];
    const first = await startManagedInflux(dataDir, 0, (l) => notices.push(l));
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The preferred port is taken by the first instance: the second picks a free one and says so.
    const second = await startManagedInflux(mkdtempSync(join(tmpdir(), 'vg-managed-')), first.port, (l) =>
      notices.push(l),
    );
    expect(second.port).not.toBe(first.port);
    expect(notices[0]).toContain(`port ${first.port} is busy`);
    expect(await new InfluxClient({ url: first.url, database: 'x' }).ping()).toBe(true);
    await Promise.all([first.stop(), second.stop()]);
    expect(await new InfluxClient({ url: first.url, database: 'x' }).ping()).toBe(false);
  });

  it('says in one line how to install InfluxDB when influxd is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startManagedInflux(mkdtempSync(join(tmpdir(), 'vg-managed-')), 0)).rejects.toMatchObject({
        code: 'INFLUXD_NOT_FOUND',
        message: INFLUXD_MISSING_MESSAGE,
      });
    } finally {
      process.env.PATH = path;
    }
    expect(INFLUXD_MISSING_MESSAGE).not.toContain('\n');
    expect(INFLUXD_MISSING_MESSAGE).toContain('apt-get install influxdb');
    expect(INFLUXD_MISSING_MESSAGE).toContain('VITALGATE_INFLUX_URL');
  });
});
