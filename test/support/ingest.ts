// A real ingest pipeline on a test PKI's data dir, writing to a real InfluxDB.
import { Registry } from 'prom-client';
import { loadConfig } from '../../core/config.js';
import { InfluxClient } from '../../core/influx.js';
import { silentLogger } from '../../core/logger.js';
import { PatientRegistry } from '../../core/patient-registry.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import type { TestPki } from './hub-pki.js';

export function openPipeline(
  pki: TestPki,
  influx: { url: string; database: string },
  env: Record<string, string> = {},
  client = new InfluxClient({ url: influx.url, database: influx.database, timeoutMs: 2_000 }),
) {
  const config = loadConfig({
    env: {
      VITALGATE_DATA_DIR: pki.dataDir,
      VITALGATE_INFLUX_DB: influx.database,
      VITALGATE_WRITER_FLUSH_MS: '20',
      ...env,
    },
  });
  const pipeline = new IngestPipeline({
    config,
    store: pki.store,
    keyring: pki.keyring,
    influx: client,
    registry: new Registry(),
    logger: silentLogger(),
  });
  return { pipeline, client, config };
}

export function addPatient(pki: TestPki, name = 'Test Patient'): string {
  return new PatientRegistry(pki.store.patients, pki.keyring, pki.store.audit).add(
    { name, birthDate: '1950-01-01' },
    'test',
  ).id;
}

export function envelope(seq: number, readings: unknown[], ts = Date.now()): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, seq, ts, readings }));
}

export async function countPoints(client: InfluxClient, where = ''): Promise<number> {
  const series = await client.query(`SELECT count(c) FROM telemetry ${where}`);
  return Number(series[0]?.rows[0]?.count ?? 0);
}
