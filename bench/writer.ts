// The telemetry writer into a local InfluxDB: sealed 5-reading messages (AES-256-GCM strings,
// ns timestamps) are spooled, then the TelemetryWriter drains them in `--batch`-point batches,
// confirming each batch in the spool and in seq_windows as it does in the hub. For comparison the
// same lines are also posted raw (writeLines only, no spool, no confirmation): InfluxDB's own
// ceiling for them. Also reports the sealing cost per reading, which intake pays before a PUBACK.
// Prints one JSON line.
//   npx tsx bench/writer.ts [--messages 40000] [--batch 5000] [--devices 100] [--url http://...]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { InfluxClient, type Precision } from '../core/influx.js';
import { Keyring } from '../core/keyring.js';
import { silentLogger } from '../core/logger.js';
import { ControlPlane } from '../core/store/control-plane.js';
import { startInfluxd } from '../hub/influxd.js';
import { IngestMetrics } from '../ingest/metrics.js';
import { sealEnvelope } from '../ingest/sealing.js';
import type { TelemetryEnvelope } from '../ingest/schemas.js';
import { Spool } from '../ingest/spool.js';
import { encodeSpooledMessage } from '../ingest/spooled-message.js';
import { TelemetryWriter } from '../ingest/writer.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '40000' },
    batch: { type: 'string', default: '5000' },
    devices: { type: 'string', default: '100' },
    url: { type: 'string' },
  },
});
const messages = Number(values.messages);
const batchSize = Number(values.batch);
const deviceCount = Number(values.devices);
const READINGS = 5;

const dir = mkdtempSync(join(tmpdir(), 'vg-bench-writer-'));
const influxd = values.url ? undefined : await startInfluxd({ dir: join(dir, 'influx'), port: 0 });
const url = values.url ?? influxd!.url;
const store = ControlPlane.open(join(dir, 'data'));
const keyring = new Keyring(store.db, randomBytes(32));
const patients = Array.from({ length: deviceCount }, (_, i) => `pat_bench${String(i).padStart(8, '0')}`);

// 1. Seal every message as intake does (timed), and spool it.
const t0 = Date.now() - 3_600_000;
const sealed: string[][] = [];
const sealStart = performance.now();
for (let m = 0; m < messages; m++) {
  const device = m % deviceCount;
  const seq = Math.floor(m / deviceCount) + 1;
  const ts = t0 + seq * 1000;
  const envelope: TelemetryEnvelope = {
    v: 1,
    seq,
    ts,
    readings: [
      { type: 'heart_rate', value: 60 + (m % 40), unit: '/min' },
      { type: 'spo2', value: 95 + (m % 5), unit: '%' },
      { type: 'body_temperature', value: 36.6, unit: 'Cel' },
      { type: 'steps', value: m, unit: '{steps}' },
      { type: 'heart_rate', value: 61, unit: '/min', ts: ts - 500 },
    ],
  };
  sealed.push(sealEnvelope(keyring, { deviceId: `wear-${device}`, patientId: patients[device]! }, envelope));
}
const sealUsPerReading = ((performance.now() - sealStart) * 1000) / (messages * READINGS);

const spool = Spool.open({
  dir: join(dir, 'spool'),
  segmentBytes: 16 * 1024 * 1024,
  quotaBytes: 8 * 1024 * 1024 * 1024,
  groupCommitMs: 0,
});
const CHUNK = 512;
for (let m = 0; m < messages; m += CHUNK) {
  await Promise.all(
    sealed
      .slice(m, m + CHUNK)
      .map((lines, i) =>
        spool.append(encodeSpooledMessage(`wear-${(m + i) % deviceCount}`, m + i + 1, lines)),
      ),
  );
}
const points = messages * READINGS;

// 2. The writer drains the spool into database `writer`.
const influx = new InfluxClient({ url, database: 'bench_writer', timeoutMs: 30_000 });
const metrics = new IngestMetrics(new Registry());
const writer = new TelemetryWriter(
  { spool, influx, deviceSeqs: store.deviceSeqs, metrics, logger: silentLogger() },
  { batchSize, flushMs: 200, retentionDays: 90, rejectedFile: join(dir, 'rejected.log') },
);
const writeStart = performance.now();
writer.start();
if (!(await writer.drained(600_000))) throw new Error('the writer did not drain');
const writerSeconds = (performance.now() - writeStart) / 1000;
await writer.stop();
const latency = (await metrics.writeLatency.get()).values;
const batches = latency.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
const latencySum = latency.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;

// 3. The same lines posted raw, to another database: InfluxDB's ceiling for this data.
const raw = new InfluxClient({ url, database: 'bench_raw', timeoutMs: 30_000 });
await raw.createDatabase();
const lines = sealed.flat();
const rawStart = performance.now();
for (let i = 0; i < lines.length; i += batchSize)
  await raw.writeLines(lines.slice(i, i + batchSize), { precision: 'n' as Precision });
const rawSeconds = (performance.now() - rawStart) / 1000;

const [count] = await influx.query('SELECT count(c) FROM telemetry');
const stored = Number(count?.rows[0]?.count ?? 0);
await spool.close();
store.close();
await influxd?.stop();
rmSync(dir, { recursive: true, force: true });

console.log(
  JSON.stringify({
    bench: 'writer',
    points,
    stored,
    batchSize,
    devices: deviceCount,
    pointBytes: Math.round(lines.reduce((n, l) => n + l.length + 1, 0) / lines.length),
    sealUsPerReading: Number(sealUsPerReading.toFixed(2)),
    writerPointsPerSecond: Math.round(points / writerSeconds),
    writerBatches: batches,
    meanBatchMs: batches ? Number(((latencySum / batches) * 1000).toFixed(1)) : null,
    rawPointsPerSecond: Math.round(points / rawSeconds),
    node: process.version,
  }),
);
