// Query benchmark for the clinician API: 24 h of 1 Hz heart rate for one patient (86,400
// points, each sealed under the patient's key as ingest seals them) in a private InfluxDB, then,
// over real HTTPS against buildApiServer:
//   - the decrypted raw range (the whole day),
//   - the 1-minute-resolution day view (first run cold, then warm from the closed-bucket cache),
//   - a FHIR bundle of the last hour,
// and, in the same run, the same day as a plaintext InfluxDB query (the baseline) next to the
// decrypting reader at the same layer (no HTTP), which reads closed minutes from their sealed
// blocks; `pointReader` is the same reader opening every point (no rollups), for comparison.
// The decrypted day is checked against the plaintext one. Prints one JSON line.
//   npx tsx bench/query.ts [--runs 10]
import { request, Agent } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { InfluxClient } from '../core/influx.js';
import { silentLogger } from '../core/logger.js';
import { buildApiServer } from '../dashboard-api/server.js';
import { InfluxTelemetryReader } from '../dashboard-api/telemetry/influx-reader.js';
import { startInfluxd } from '../hub/influxd.js';
import { MinuteRollups } from '../ingest/minute-rollups.js';
import { markRollupsSince, rollupsSince } from '../ingest/rollup-sealing.js';
import type { TelemetryEnvelope } from '../ingest/schemas.js';
import { sealEnvelope } from '../ingest/sealing.js';
import { DeviceLifecycle } from '../pki/lifecycle.js';
import { createTestPki } from '../test/support/hub-pki.js';
import { addPatient } from '../test/support/ingest.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);
const DAY = 86_400_000;
const N = 86_400;

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? 0;
};
const round = (x: number) => Math.round(x * 10) / 10;

const pki = await createTestPki();
const influxd = await startInfluxd({ dir: mkdtempSync(join(tmpdir(), 'vg-bench-influx-')), port: 0 });
const influx = new InfluxClient({ url: influxd.url, database: 'bench', timeoutMs: 120_000 });
await influx.createDatabase();
const patientId = addPatient(pki, 'Bench Patient');
pki.store.devices.add({ id: 'wear-bench', kind: 'wearable', patientId });

// 24 h of 1 Hz heart rate, sealed exactly as ingest seals it (one reading per message, with the
// message's one-minute rollup line), plus the plaintext twin.
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const start = end - DAY + 1000;
const t0 = performance.now();
markRollupsSince(pki.store.meta, 0, start - DAY);
const rollups = new MinuteRollups(pki.keyring);
let sealed: string[] = [];
let plain: string[] = [];
for (let i = 0; i < N; i++) {
  const ts = start + i * 1000;
  const value = Math.round(70 + 15 * Math.sin(i / 900) + (i % 7));
  const target = { deviceId: 'wear-bench', patientId };
  const envelope: TelemetryEnvelope = {
    v: 1,
    seq: i + 1,
    ts,
    readings: [{ type: 'heart_rate', value, unit: '/min' }],
  };
  const rollup = rollups.prepare(target, envelope);
  sealed.push(...sealEnvelope(pki.keyring, target, envelope), ...rollup.lines);
  rollup.commit();
  plain.push(`plain_hr,d=wear-bench v=${value} ${ts}`);
  if (sealed.length >= 5000) {
    await influx.writeLines(sealed, { precision: 'n' });
    await influx.writeLines(plain, { precision: 'ms' });
    sealed = [];
    plain = [];
  }
}
await influx.writeLines(sealed, { precision: 'n' });
await influx.writeLines(plain, { precision: 'ms' });
const loadMs = performance.now() - t0;

const config = pki.config;
const reader = new InfluxTelemetryReader(influx, pki.keyring, {
  rollupsSince: () => rollupsSince(pki.store.meta),
});
const api = await buildApiServer({
  config,
  store: pki.store,
  keyring: pki.keyring,
  authority: pki.authority,
  lifecycle: new DeviceLifecycle(pki.store, pki.authority),
  registry: new Registry(),
  telemetry: reader,
  live: { subscribe: () => () => {} },
  logger: silentLogger(),
  rateLimits: { perMinute: 1_000_000 },
});
await api.listen({ host: '127.0.0.1', port: 0 });
const port = (api.server.address() as { port: number }).port;
// A clinician session (minted directly: login and MFA are not what this measures).
await api.apiContext.users.create('dr.bench', 'clinician', 'bench');
pki.store.patients.assign(patientId, 'dr.bench');
const { token } = api.apiContext.sessions.create('dr.bench', '127.0.0.1');
const agent = new Agent({ keepAlive: true, ca: pki.authority.caBundlePem() });

function get(path: string): Promise<{ status: number; bytes: number; ms: number }> {
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        agent,
        servername: 'localhost',
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: performance.now() - began }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function timeRuns(label: string, path: string, n = runs) {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const r = await get(path);
    if (r.status !== 200) throw new Error(`${label}: HTTP ${r.status}`);
    times.push(r.ms);
    bytes = r.bytes;
  }
  return { times, bytes };
}

async function timeCalls(fn: () => Promise<unknown>, n = runs) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const began = performance.now();
    await fn();
    times.push(performance.now() - began);
  }
  return times;
}

const base = `/api/v1/patients/${patientId}`;
// Same run, same range: plaintext baseline and the decrypting reader, at the InfluxDB layer.
const plaintext = await timeCalls(() =>
  influx.query(`SELECT v FROM plain_hr WHERE time >= ${start}ms AND time <= ${end}ms`),
);
const decrypted = await timeCalls(() => reader.read({ patientId, from: start, to: end }));
const pointReader = new InfluxTelemetryReader(influx, pki.keyring);
const byPoint = await timeCalls(() => pointReader.read({ patientId, from: start, to: end }));
await pointReader.close();
{
  const [series] = await influx.query(`SELECT v FROM plain_hr WHERE time >= ${start}ms AND time <= ${end}ms`);
  const expected = JSON.stringify(series!.rows.map((r) => [r.time, r.v]));
  const got = (await reader.read({ patientId, from: start, to: end })).map((p) => [p.ts, p.values.value]);
  if (JSON.stringify(got) !== expected) throw new Error('the decrypted day differs from the plaintext day');
}
const rawHttp = await timeRuns(
  'raw',
  `${base}/telemetry?from=${start}&to=${end}&type=heart_rate&limit=200000`,
);
const viewCold = await timeRuns(
  '1m cold',
  `${base}/telemetry?from=${start}&to=${end}&type=heart_rate&resolution=1m`,
  1,
);
const viewWarm = await timeRuns(
  '1m warm',
  `${base}/telemetry?from=${start}&to=${end}&type=heart_rate&resolution=1m`,
);
api.apiContext.telemetry.forget(patientId);
const fhir = await timeRuns('fhir', `${base}/observations?from=${end - 3_600_000}&to=${end}&type=heart_rate`);

const p50 = (xs: number[]) => round(percentile(xs, 0.5));
const p95 = (xs: number[]) => round(percentile(xs, 0.95));
console.log(
  JSON.stringify({
    bench: 'query',
    points: N,
    runs,
    loadMs: Math.round(loadMs),
    plaintextInflux: { p50: p50(plaintext), p95: p95(plaintext) },
    decryptedReader: { p50: p50(decrypted), p95: p95(decrypted) },
    decryptedVsPlaintext: round((percentile(decrypted, 0.5) / percentile(plaintext, 0.5)) * 10) / 10,
    pointReader: { p50: p50(byPoint), p95: p95(byPoint) },
    rawDayHttps: { p50: p50(rawHttp.times), p95: p95(rawHttp.times), bytes: rawHttp.bytes },
    minuteDayViewHttps: {
      cold: round(viewCold.times[0]!),
      warmP50: p50(viewWarm.times),
      warmP95: p95(viewWarm.times),
      bytes: viewWarm.bytes,
    },
    fhirLastHourHttps: { p50: p50(fhir.times), p95: p95(fhir.times), bytes: fhir.bytes },
  }),
);

agent.destroy();
await api.close();
await influxd.stop();
pki.cleanup();
