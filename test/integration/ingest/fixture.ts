// A real ingest pipeline for the integration tests: the test PKI's store and keyring, a real
// InfluxDB (shared run instance or a private one), its own spool directory and its own registry.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { InfluxClient } from '../../../core/influx.js';
import { silentLogger } from '../../../core/logger.js';
import { IngestPipeline } from '../../../ingest/pipeline.js';
import type { TestPki } from '../../support/hub-pki.js';

const ownDirs: string[] = [];
// Registered when a test file imports this module, so it runs after that file's own teardown.
afterAll(() => {
  for (const dir of ownDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A data dir of the test's own, removed after the test file. */
export function ownDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vg-ingest-'));
  ownDirs.push(dir);
  return dir;
}

export function openTestPipeline(
  pki: TestPki,
  influx: { url: string; database: string },
  options: { dataDir?: string; env?: Record<string, string> } = {},
) {
  const config = loadConfig({
    env: {
      VITALGATE_DATA_DIR: options.dataDir ?? pki.dataDir,
      VITALGATE_INFLUX_DB: influx.database,
      VITALGATE_WRITER_FLUSH_MS: '20',
      ...options.env,
    },
  });
  const client = new InfluxClient({ url: influx.url, database: influx.database, timeoutMs: 2_000 });
  const registry = new Registry();
  const pipeline = new IngestPipeline({
    config,
    store: pki.store,
    keyring: pki.keyring,
    influx: client,
    registry,
    logger: silentLogger(),
  });
  return { pipeline, client, config, registry };
}

export function envelope(seq: number, readings: unknown[], ts = Date.now()): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, seq, ts, readings }));
}

export async function countPoints(client: InfluxClient, where = ''): Promise<number> {
  const series = await client.query(`SELECT count(c) FROM telemetry ${where}`);
  return Number(series[0]?.rows[0]?.count ?? 0);
}

export const spo2 = (value: number) => ({ type: 'spo2', value, unit: '%' });
export const hr = (value: number) => ({ type: 'heart_rate', value, unit: '/min' });
