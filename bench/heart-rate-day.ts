// What the query benchmarks share: 24 h of 1 Hz heart rate for one patient, sealed exactly as
// ingest seals it (one reading per message, with the message's one-minute rollup line) plus a
// plaintext twin (`plain_hr`), and the clinician API over real HTTPS with a minted session.
import { mkdtempSync, rmSync } from 'node:fs';
import { request, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluxClient } from '../core/influx.js';
import type { TelemetryReader } from '../dashboard-api/ports.js';
import { InfluxTelemetryReader } from '../dashboard-api/telemetry/influx-reader.js';
import { startInfluxd } from '../hub/influxd.js';
import { MinuteRollups } from '../ingest/minute-rollups.js';
import { markRollupsSince, rollupsSince } from '../ingest/rollup-sealing.js';
import type { TelemetryEnvelope } from '../ingest/schemas.js';
import { sealEnvelope } from '../ingest/sealing.js';
import { createTestPki, type TestPki } from '../test/support/hub-pki.js';
import { addPatient } from '../test/support/ingest.js';
import { apiOverTestPki } from '../test/support/pki-api.js';

export const DAY = 86_400_000;
export const N = 86_400;

export const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] ?? 0;
};
export const round = (x: number) => Math.round(x * 10) / 10;

/** A test PKI, a private InfluxDB with the day of one patient, and the decrypting reader. */
export async function heartRateDayHub() {
  const pki = await createTestPki();
  const dir = mkdtempSync(join(tmpdir(), 'vg-bench-influx-'));
  const influxd = await startInfluxd({ dir, port: 0 });
  const influx = new InfluxClient({ url: influxd.url, database: 'bench', timeoutMs: 120_000 });
  await influx.createDatabase();
  const patientId = addPatient(pki, 'Bench Patient');
  const day = await loadHeartRateDay(pki, influx, patientId);
  const reader = new InfluxTelemetryReader(influx, pki.keyring, {
    rollupsSince: () => rollupsSince(pki.store.meta),
  });
  /** Stops InfluxDB and removes its files and the PKI's. */
  async function stop() {
    await influxd.stop();
    rmSync(dir, { recursive: true, force: true });
    pki.cleanup();
  }
  return { pki, influx, patientId, reader, stop, ...day };
}

/** Writes the day for `patientId` from device `wear-bench`; the day ends a minute before now. */
export async function loadHeartRateDay(pki: TestPki, influx: InfluxClient, patientId: string) {
  pki.store.devices.add({ id: 'wear-bench', kind: 'wearable', patientId });
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
  return { start, end, loadMs: performance.now() - t0 };
}

/** The API over HTTPS with a clinician session for the patients (minted: login is not measured). */
export async function clinicianApi(
  pki: TestPki,
  reader: TelemetryReader,
  patientIds: string | readonly string[],
  options: { primeSummaries?: boolean } = {},
) {
  const api = await apiOverTestPki(pki, reader, { ...options, rateLimits: { perMinute: 1_000_000 } });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const port = (api.server.address() as { port: number }).port;
  await api.apiContext.users.create('dr.bench', 'clinician', 'bench');
  for (const id of typeof patientIds === 'string' ? [patientIds] : patientIds)
    pki.store.patients.assign(id, 'dr.bench');
  const { token } = api.apiContext.sessions.create('dr.bench', '127.0.0.1');
  const agent = new Agent({ keepAlive: true, ca: pki.authority.caBundlePem() });

  function get(path: string): Promise<{ status: number; bytes: number; ms: number; body: Buffer }> {
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
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, bytes: body.length, ms: performance.now() - began, body });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** `n` timed GETs of one path (each must answer 200). */
  async function timeRuns(label: string, path: string, n: number) {
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

  return {
    api,
    port,
    token,
    get,
    timeRuns,
    async close() {
      agent.destroy();
      await api.close();
    },
  };
}
