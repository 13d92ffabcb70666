import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InfluxClient,
  escapeKey,
  escapeMeasurement,
  quoteIdentifier,
  stringField,
} from '../../core/influx.js';
import {
  CONTAINER_ENGINE_MESSAGE,
  NO_INFLUX_MESSAGE,
  containerEngineAnswers,
  provisionInflux,
  startPrivateInflux,
  testInflux,
  type TestInflux,
} from '../support/influx.js';

let influx: TestInflux;
beforeAll(async () => {
  influx = await testInflux();
});
afterAll(() => influx?.drop());

describe('InfluxDB client against a real InfluxDB', () => {
  it('creates the test database', async () => {
    const [databases] = await influx.client.query('SHOW DATABASES');
    expect(databases!.rows.map((r) => r.name)).toContain(influx.database);
    await influx.client.createDatabase(); // idempotent
  });

  it('round-trips points with escaped tags and string fields, times in ms', async () => {
    const t = 1_795_386_343_000;
    const m = escapeMeasurement('tele metry');
    await influx.client.writeLines([
      `${m},${escapeKey('dev ice')}=${escapeKey('a,b=c d')},k=${escapeKey('c\\d')} ${escapeKey('ct x')}=${stringField('x"y\\z, a=b')},kv=3i ${t}`,
      `${m},${escapeKey('dev ice')}=other,k=plain ${escapeKey('ct x')}=${stringField('')},kv=4i ${t + 1}`,
      `${m},${escapeKey('dev ice')}=other,k=plain kv=5i ${t + 2_000}`,
    ]);
    const series = await influx.client.query(
      `SELECT * FROM ${quoteIdentifier('tele metry')} WHERE "dev ice" = $dev`,
      { dev: 'a,b=c d' },
    );
    expect(series).toEqual([
      {
        name: 'tele metry',
        tags: {},
        rows: [{ time: t, 'ct x': 'x"y\\z, a=b', 'dev ice': 'a,b=c d', k: 'c\\d', kv: 3 }],
      },
    ]);
    const grouped = await influx.client.query(
      `SELECT kv FROM ${quoteIdentifier('tele metry')} WHERE time >= $from GROUP BY "dev ice"`,
      { from: new Date(t + 1).toISOString() },
    );
    expect(grouped).toEqual([
      {
        name: 'tele metry',
        tags: { 'dev ice': 'other' },
        rows: [
          { time: t + 1, kv: 4 },
          { time: t + 2_000, kv: 5 },
        ],
      },
    ]);
    const inMicros = await influx.client.query(
      `SELECT kv FROM ${quoteIdentifier('tele metry')} LIMIT 1`,
      undefined,
      {
        epoch: 'u',
      },
    );
    expect(inMicros[0]!.rows[0]!.time).toBe(t * 1_000);
  });

  it('creates a default retention policy, then alters it', async () => {
    await influx.client.ensureRetentionPolicy('raw', 90, { default: true });
    const before = await influx.client.query(
      `SHOW RETENTION POLICIES ON ${quoteIdentifier(influx.database)}`,
    );
    expect(before[0]!.rows.find((r) => r.name === 'raw')).toMatchObject({
      duration: '2160h0m0s',
      default: true,
    });
    await influx.client.ensureRetentionPolicy('raw', 30, { default: true });
    const after = await influx.client.query(`SHOW RETENTION POLICIES ON ${quoteIdentifier(influx.database)}`);
    expect(after[0]!.rows.find((r) => r.name === 'raw')).toMatchObject({
      duration: '720h0m0s',
      default: true,
    });
    await expect(influx.client.ensureRetentionPolicy('raw', 1.5)).rejects.toMatchObject({
      code: 'INFLUX_BAD_INPUT',
    });
  });

  it('reports a refused write with its status and without echoing the line', async () => {
    const err = await influx.client
      .writeLines(['this is not line protocol secret-ish'])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INFLUX_WRITE_FAILED', details: { status: 400 } });
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('secret-ish');
  });

  it('reports a failed query with a code', async () => {
    await expect(influx.client.query('SELEKT nonsense')).rejects.toMatchObject({
      code: 'INFLUX_QUERY_FAILED',
    });
    const other = new InfluxClient({ url: influx.url, database: 'no_such_database_here' });
    await expect(other.writeLines(['m v=1i 1'])).rejects.toMatchObject({
      code: 'INFLUX_WRITE_FAILED',
      details: { status: 404 },
    });
  });

  it('streams a result chunk by chunk: every row once, in order, with its series tags', async () => {
    const t0 = Date.now() - 3_600_000;
    const lines: string[] = [];
    for (let i = 0; i < 2500; i++) lines.push(`streamed,d=a\\ b,t=x c="v${i}",k=1i ${t0 + i}`);
    for (let i = 0; i < 700; i++) lines.push(`streamed,d=c,t=y c="w${i}",k=2i ${t0 + i}`);
    await influx.client.writeLines(lines);
    const chunks: { tags: Record<string, string>; columns: string[]; rows: number }[] = [];
    const seen = new Map<string, unknown[][]>();
    await influx.client.queryStream(
      'SELECT c, k FROM streamed WHERE k > $min GROUP BY d, t',
      { min: 0 },
      { chunkSize: 1000 },
      (series) => {
        chunks.push({ tags: series.tags, columns: series.columns, rows: series.values.length });
        seen.set(series.tags.d!, [...(seen.get(series.tags.d!) ?? []), ...series.values]);
      },
    );
    expect(chunks.map((c) => [c.tags.d, c.rows])).toEqual([
      ['a b', 1000],
      ['a b', 1000],
      ['a b', 500],
      ['c', 700],
    ]);
    expect(chunks[0]!.columns).toEqual(['time', 'c', 'k']);
    expect(seen.get('a b')!.map((row) => row[1])).toEqual(lines.slice(0, 2500).map((_, i) => `v${i}`));
    expect(seen.get('c')![699]).toEqual([t0 + 699, 'w699', 2]);
    await expect(influx.client.queryStream('SELEKT nonsense', undefined, {}, () => {})).rejects.toMatchObject(
      { code: 'INFLUX_QUERY_FAILED' },
    );
    await expect(
      influx.client.queryStream('SELECT c FROM streamed WHERE nope(', undefined, {}, () => {}),
    ).rejects.toMatchObject({ code: 'INFLUX_QUERY_FAILED' });
  });

  it('says INFLUX_UNAVAILABLE when InfluxDB is down, and works again after a restart', async () => {
    const server = await startPrivateInflux();
    const client = new InfluxClient({ url: server.url, database: 'outage', timeoutMs: 2_000 });
    await client.createDatabase();
    await client.writeLines(['m v=1i 1000']);
    await server.stop();
    expect(await client.ping()).toBe(false);
    const err = await client.writeLines(['m v=2i 2000 secret-ish']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INFLUX_UNAVAILABLE', details: { reason: 'ECONNREFUSED' } });
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('secret-ish');
    await expect(client.query('SELECT * FROM m')).rejects.toMatchObject({ code: 'INFLUX_UNAVAILABLE' });
    await server.start();
    await client.writeLines(['m v=2i 2000']);
    const [series] = await client.query('SELECT count(v) FROM m');
    expect(series!.rows[0]!.count).toBe(2);
  });
});

describe('InfluxDB client against a stand-in server', () => {
  let stub: Server;
  let url: string;
  let respond: (req: IncomingMessage) => { status: number; body?: string; delayMs?: number };
  const seen: { authorization?: string | undefined; url?: string | undefined }[] = [];
  beforeAll(async () => {
    stub = createServer((req, res) => {
      seen.push({ authorization: req.headers.authorization, url: req.url });
      req.resume();
      req.on('end', () => {
        const answer = respond(req);
        setTimeout(() => {
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(answer.body ?? '');
        }, answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => stub.close(() => r())));

  it('maps 502/503/504 to INFLUX_UNAVAILABLE with the status', async () => {
    respond = () => ({ status: 503, body: '{"error":"overloaded m v=1"}' });
    const client = new InfluxClient({ url, database: 'db' });
    await expect(client.writeLines(['m v=1'])).rejects.toMatchObject({
      code: 'INFLUX_UNAVAILABLE',
      details: { status: 503 },
    });
    await expect(client.query('SHOW DATABASES')).rejects.toMatchObject({
      code: 'INFLUX_UNAVAILABLE',
      details: { status: 503 },
    });
  });

  it('times out with INFLUX_UNAVAILABLE', async () => {
    respond = () => ({ status: 204, delayMs: 1_000 });
    const client = new InfluxClient({ url, database: 'db', timeoutMs: 100 });
    await expect(client.writeLines(['m v=1'])).rejects.toMatchObject({
      code: 'INFLUX_UNAVAILABLE',
      details: { reason: 'timeout' },
    });
  });

  it('sends credentials from the URL as Basic auth and never shows them', async () => {
    respond = () => ({ status: 401, body: '{"error":"authorization failed"}' });
    const client = new InfluxClient({ url: url.replace('//', '//reader:s3cr%40t@'), database: 'db' });
    expect(client.url).toBe(url);
    const err = await client.query('SHOW DATABASES').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INFLUX_QUERY_FAILED', details: { status: 401 } });
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('s3cr');
    expect(seen.at(-1)!.authorization).toBe(`Basic ${Buffer.from('reader:s3cr@t').toString('base64')}`);
  });

  it('sends bound parameters and statements that change state by POST', async () => {
    respond = () => ({ status: 200, body: '{"results":[{"statement_id":0}]}' });
    const client = new InfluxClient({ url, database: 'db' });
    await client.query('SELECT * FROM m WHERE s = $s', { s: "x' OR 1=1" });
    const sent = new URL(seen.at(-1)!.url!, url).searchParams;
    expect(sent.get('q')).toBe('SELECT * FROM m WHERE s = $s');
    expect(JSON.parse(sent.get('params')!)).toEqual({ s: "x' OR 1=1" });
    expect(sent.get('epoch')).toBe('ms');
    await client.query('DROP DATABASE "db"');
    expect(seen.at(-1)!.url).toBe('/query');
  });
});

describe('test fixture: where the InfluxDB comes from', () => {
  const noEngine = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

  it('uses VITALGATE_TEST_INFLUX_URL first, and checks that it answers', async () => {
    const provided = await provisionInflux({ ...noEngine, VITALGATE_TEST_INFLUX_URL: influx.url });
    expect(provided).toMatchObject({ url: influx.url, source: 'env' });
    await provided.stop();
    expect(existsSync(provided.scratchDir)).toBe(false);
    await expect(provisionInflux({ VITALGATE_TEST_INFLUX_URL: 'http://127.0.0.1:9/' })).rejects.toThrow(
      'VITALGATE_TEST_INFLUX_URL (http://127.0.0.1:9) does not answer GET /ping with 204',
    );
  });

  /** A stand-in Docker socket that accepts connections, for the length of `body`. */
  async function withAnsweringEngine(body: (dockerHost: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'vg-engine-'));
    const engine = createNetServer((socket) => socket.end());
    await new Promise<void>((r) => engine.listen(join(dir, 'docker.sock'), r));
    try {
      const dockerHost = `unix://${join(dir, 'docker.sock')}`;
      expect(await containerEngineAnswers({ DOCKER_HOST: dockerHost })).toBe(true);
      await body(dockerHost);
    } finally {
      await new Promise((r) => engine.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('chooses the local influxd before a container engine that answers', async () => {
    await withAnsweringEngine(async (DOCKER_HOST) => {
      const provided = await provisionInflux({ DOCKER_HOST });
      try {
        expect(provided.source).toBe('local-influxd');
        expect(await new InfluxClient({ url: provided.url, database: 'x' }).ping()).toBe(true);
      } finally {
        await provided.stop();
      }
      expect(existsSync(provided.scratchDir)).toBe(false);
    });
  });

  it('fails with one line when only a container engine answers (testcontainers is not a dependency)', async () => {
    await withAnsweringEngine(async (DOCKER_HOST) => {
      const path = process.env.PATH;
      process.env.PATH = '/nonexistent';
      let err: unknown;
      try {
        err = await provisionInflux({ DOCKER_HOST }).catch((e: unknown) => e);
      } finally {
        process.env.PATH = path;
      }
      expect((err as Error).message).toBe(CONTAINER_ENGINE_MESSAGE);
      expect(CONTAINER_ENGINE_MESSAGE).toContain('VITALGATE_TEST_INFLUX_URL');
      expect(CONTAINER_ENGINE_MESSAGE).not.toContain('\n');
    });
  });

  it('fails with one line saying how to get one when there is no influxd either', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(provisionInflux(noEngine)).rejects.toThrow(NO_INFLUX_MESSAGE);
    } finally {
      process.env.PATH = path;
    }
    expect(NO_INFLUX_MESSAGE).toContain('apt-get install influxdb');
    expect(NO_INFLUX_MESSAGE).not.toContain('\n');
  });

  it('starts the local influxd otherwise, and sweeps it away at teardown', async () => {
    const provided = await provisionInflux(noEngine);
    expect(provided.source).toBe('local-influxd');
    const client = new InfluxClient({ url: provided.url, database: 'x' });
    expect(await client.ping()).toBe(true);
    await provided.stop();
    expect(await client.ping()).toBe(false);
    expect(existsSync(provided.scratchDir)).toBe(false);
  });
});
