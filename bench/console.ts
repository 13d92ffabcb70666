// Console benchmark: time to the first useful paint in Debian's Chromium, on loopback, against
// buildApiServer (API and console on one HTTPS port) over a private InfluxDB:
//   - My patients with 50 patients × 6 devices (every tile drawn with its vitals), from a fresh
//     page load, once the API has seeded the patients' latest vitals as the hub does at start
//     (primeMs: how long that took);
//   - a patient's 24 h charts after navigating from My patients, and the 30 d charts after
//     pressing "30 d" (the patient has 30 days of readings every minute and the last day every
//     5 s, sealed with their minute rollups as ingest writes them, and the hourly rollups the
//     hub's compaction writes once the hours end);
//   - the console's JavaScript, gzipped.
// Times are the page's own clock (performance.now) from navigation or click to the drawn state.
// Targets (issue 13): My patients ≤ 1 s, 24 h charts ≤ 500 ms, 30 d charts ≤ 800 ms, JS ≤ 250 KiB.
//   npx tsx bench/console.ts [--runs 5]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { DeviceKind } from '../core/domain.js';
import { InfluxClient } from '../core/influx.js';
import { HourlyCompaction } from '../dashboard-api/telemetry/hourly-compaction.js';
import { InfluxTelemetryReader } from '../dashboard-api/telemetry/influx-reader.js';
import { startInfluxd } from '../hub/influxd.js';
import { MinuteRollups } from '../ingest/minute-rollups.js';
import { markRollupsSince, rollupsSince } from '../ingest/rollup-sealing.js';
import type { TelemetryEnvelope } from '../ingest/schemas.js';
import { sealEnvelope } from '../ingest/sealing.js';
import { hubContext, launchChromium } from '../test/support/chromium.js';
import { createTestPki } from '../test/support/hub-pki.js';
import { clinicianApi } from './heart-rate-day.js';
import { addPatient } from '../test/support/ingest.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const PATIENTS = 50;
const DAY = 86_400_000;
const root = join(import.meta.dirname, '..');

execFileSync(process.execPath, [join(root, 'scripts', 'build-console.mjs')], { stdio: 'pipe' });
const scriptGzipKiB = gzipSync(readFileSync(join(root, 'console', 'dist', 'assets', 'app.js'))).length / 1024;

const pki = await createTestPki();
const influxDir = mkdtempSync(join(tmpdir(), 'vg-bench-console-'));
const influxd = await startInfluxd({ dir: influxDir, port: 0 });
const influx = new InfluxClient({ url: influxd.url, database: 'bench', timeoutMs: 120_000 });
await influx.createDatabase();
const now = Math.floor(Date.now() / 60_000) * 60_000;
markRollupsSince(pki.store.meta, 0, now - 31 * DAY);
const rollups = new MinuteRollups(pki.keyring);
let lines: string[] = [];
const seqs = new Map<string, number>();

async function publish(
  deviceId: string,
  patientId: string,
  ts: number,
  readings: TelemetryEnvelope['readings'],
) {
  const seq = (seqs.get(deviceId) ?? 0) + 1;
  seqs.set(deviceId, seq);
  const target = { deviceId, patientId };
  const envelope: TelemetryEnvelope = { v: 1, seq, ts, readings };
  const rollup = rollups.prepare(target, envelope);
  lines.push(...sealEnvelope(pki.keyring, target, envelope), ...rollup.lines);
  rollup.commit();
  if (lines.length >= 5000) {
    await influx.writeLines(lines, { precision: 'n' });
    lines = [];
  }
}

const KINDS: { kind: DeviceKind; tag: string; readings(t: number): TelemetryEnvelope['readings'] }[] = [
  {
    kind: 'wearable',
    tag: 'wear',
    readings: (t) => [
      { type: 'heart_rate', value: Math.round(72 + 10 * Math.sin(t / 3_600_000)), unit: '/min' },
      { type: 'spo2', value: 96 + (t % 3), unit: '%' },
    ],
  },
  {
    kind: 'pulse_oximeter',
    tag: 'ox',
    readings: (t) => [
      { type: 'spo2', value: 97 - (t % 2), unit: '%' },
      { type: 'heart_rate', value: 70 + (t % 5), unit: '/min' },
    ],
  },
  {
    kind: 'bp_monitor',
    tag: 'bp',
    readings: (t) => [
      { type: 'blood_pressure', systolic: 120 + (t % 9), diastolic: 78 + (t % 5), unit: 'mm[Hg]' },
    ],
  },
  {
    kind: 'glucometer',
    tag: 'glu',
    readings: (t) => [{ type: 'blood_glucose', value: 95 + (t % 20), unit: 'mg/dL' }],
  },
  { kind: 'weight_scale', tag: 'scale', readings: () => [{ type: 'body_weight', value: 71.4, unit: 'kg' }] },
  {
    kind: 'thermometer',
    tag: 'therm',
    readings: (t) => [{ type: 'body_temperature', value: 36.6 + (t % 4) / 10, unit: 'Cel' }],
  },
];

const t0 = performance.now();
const patients: string[] = [];
for (let p = 0; p < PATIENTS; p++) {
  const patientId = addPatient(pki, `Bench Patient ${p}`);
  patients.push(patientId);
  for (const k of KINDS) {
    const deviceId = `${k.tag}-${p}`;
    pki.store.devices.add({ id: deviceId, kind: k.kind, patientId });
    pki.store.devices.setStatus(deviceId, 'active', null);
    // The focus patient's wearable: 30 days every minute, then the last day every 5 s.
    if (p === 0 && k.kind === 'wearable') {
      for (let ts = now - 30 * DAY; ts < now - DAY; ts += 60_000)
        await publish(deviceId, patientId, ts, k.readings(ts));
      for (let ts = now - DAY; ts < now; ts += 5_000) await publish(deviceId, patientId, ts, k.readings(ts));
      continue;
    }
    // Everyone else: the last ten minutes (streaming kinds every 10 s, the others once).
    const streaming = k.kind === 'wearable' || k.kind === 'pulse_oximeter';
    for (let ts = now - 10 * 60_000; ts < now; ts += streaming ? 10_000 : 600_000)
      await publish(deviceId, patientId, ts, k.readings(ts));
  }
}
await influx.writeLines(lines, { precision: 'n' });
const loadMs = performance.now() - t0;

const reader = new InfluxTelemetryReader(influx, pki.keyring, {
  rollupsSince: () => rollupsSince(pki.store.meta),
});
// The hourly rollups, as the running hub's compaction writes them once the hours end.
const c0 = performance.now();
await new HourlyCompaction({ reader, patients: () => patients }).pass(31 * DAY);
const compactMs = performance.now() - c0;
// As the hub does: every patient's latest vitals seeded in the background once the API is ready.
const p0 = performance.now();
const {
  api,
  port,
  token,
  close: closeApi,
} = await clinicianApi(pki, reader, patients, { primeSummaries: true });
const primeFailures = await api.apiContext.summariesPrimed;
const primeMs = performance.now() - p0;

const browser = await launchChromium();
const context = await hubContext(browser, `https://localhost:${port}`, { width: 390, height: 844 }, token);

const myPatients: number[] = [];
const summaryStart: number[] = [];
const summaryApi: number[] = [];
const charts24h: number[] = [];
const charts30d: number[] = [];
for (let i = 0; i < runs; i++) {
  const page = await context.newPage();
  await page.goto('about:blank');
  await page.goto('/#/patients');
  await page.waitForFunction(
    (n) =>
      document.querySelectorAll('li.tile').length === n &&
      document.querySelectorAll('li.tile .vital').length >= n,
    PATIENTS,
    { polling: 'raf', timeout: 30_000 },
  );
  myPatients.push(await page.evaluate(() => performance.now()));
  // Where the page's time went: the summary request, and when the page asked for it.
  const [summary] = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => e.name.endsWith('/api/v1/me/patients'))
      .map((e) => [e.startTime, e.duration]),
  );
  summaryStart.push(summary![0]!);
  summaryApi.push(summary![1]!);
  const started = await page.evaluate((id) => {
    const at = performance.now();
    location.hash = `#/patients/${id}`;
    return at;
  }, patients[0]!);
  await page.waitForSelector('.charts[data-loaded="24h"] figure.chart canvas', { timeout: 30_000 });
  charts24h.push((await page.evaluate(() => performance.now())) - started);
  const clicked = await page.evaluate(() => {
    const at = performance.now();
    document.querySelector<HTMLButtonElement>('button[data-range="30d"]')!.click();
    return at;
  });
  await page.waitForSelector('.charts[data-loaded="30d"] figure.chart canvas', { timeout: 30_000 });
  charts30d.push((await page.evaluate(() => performance.now())) - clicked);
  await page.close();
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const stats = (xs: number[]) => ({
  first: Math.round(xs[0]!),
  p50: Math.round(sorted(xs)[Math.floor((xs.length - 1) / 2)]!),
  max: Math.round(Math.max(...xs)),
});
console.log(
  JSON.stringify({
    bench: 'console',
    patients: PATIENTS,
    devices: PATIENTS * KINDS.length,
    runs,
    loadMs: Math.round(loadMs),
    compactMs: Math.round(compactMs),
    primeMs: Math.round(primeMs),
    primeFailures,
    myPatientsMs: stats(myPatients),
    myPatientsSummaryRequestedAtMs: stats(summaryStart),
    myPatientsSummaryRequestMs: stats(summaryApi),
    patient24hChartsMs: stats(charts24h),
    patient30dChartsMs: stats(charts30d),
    scriptGzipKiB: Math.round(scriptGzipKiB * 10) / 10,
    targets: { myPatientsMs: 1000, charts24hMs: 500, charts30dMs: 800, scriptGzipKiB: 250 },
  }),
);

await browser.close();
await closeApi();
await reader.close();
await influxd.stop();
rmSync(influxDir, { recursive: true, force: true });
pki.cleanup();
