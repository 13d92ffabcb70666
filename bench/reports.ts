// RPM benchmarks (docs/RPM.md, docs/BENCHMARKS.md), one JSON line:
// - a 90-day clinical report for one patient with 1 Hz heart rate (a wearable's minute rollups of
//   60 readings each, 129,600 minutes) and 4 daily spot readings (2 glucose, 2 blood pressure):
//   the first report, with no hourly rollups yet (it reads the 129,600 minutes and writes the
//   hourly points with their minute sums, as the hub's compaction does for every hour that ends),
//   then p50/p95 of the report (minute sums from the 2,160 sealed hourly points per device);
//   target <= 1 s;
// - the monthly close for 1,000 enrolled patients, each with a cuff measuring twice a day on
//   about two days in three: days from the rollups, statements, sealed into the audit chain;
//   target <= 60 s.
// The rollups are sealed exactly as ingest seals them (ingest/rollup-sealing.ts) and written to
// a private InfluxDB; nothing is sent through MQTT (the ingest has its own benchmarks).
//   npx tsx bench/reports.ts [--runs 10] [--patients 1000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InfluxClient } from '../core/influx.js';
import { InfluxTelemetryReader } from '../dashboard-api/telemetry/influx-reader.js';
import { startInfluxd } from '../hub/influxd.js';
import { markRollupsSince, rollupsSince, sealRollup } from '../ingest/rollup-sealing.js';
import { createRpmProgramme } from '../rpm/programme.js';
import { InfluxSensedDays } from '../rpm/sensed-days-source.js';
import { addDays, firstOfMonth, lastOfMonth, SiteCalendar } from '../rpm/site-calendar.js';
import { createTestPki } from '../test/support/hub-pki.js';
import { addPatient } from '../test/support/ingest.js';
import { percentile, round } from './heart-rate-day.js';

const MIN = 60_000;
const DAY = 86_400_000;
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, patients: { type: 'string', default: '1000' } },
});
const runs = Number(values.runs);
const patients = Number(values.patients);

const pki = await createTestPki();
const dir = mkdtempSync(join(tmpdir(), 'vg-bench-rpm-'));
const influxd = await startInfluxd({ dir, port: 0 });
try {
  const influx = new InfluxClient({ url: influxd.url, database: 'bench', timeoutMs: 300_000 });
  await influx.createDatabase();
  const now = Math.floor(Date.now() / MIN) * MIN;
  markRollupsSince(pki.store.meta, 0, now - 200 * DAY);
  let batch: string[] = [];
  const write = async (line?: string) => {
    if (line) batch.push(line);
    if (batch.length >= 5000 || (!line && batch.length)) {
      await influx.writeLines(batch, { precision: 'n' });
      batch = [];
    }
  };
  const stat = (v: number, n = 1) => ({ count: n, value: { min: v - 5, max: v + 5, sum: v * n, n } });

  // One patient, 90 days.
  const reportPatient = addPatient(pki, 'Report Patient');
  const wear = { deviceId: 'hr-bench', patientId: reportPatient };
  const gluc = { deviceId: 'gl-bench', patientId: reportPatient };
  const cuff = { deviceId: 'bp-bench', patientId: reportPatient };
  const t0 = performance.now();
  for (let m = now - 90 * DAY; m < now; m += MIN) {
    await write(sealRollup(pki.keyring, wear, m, 1, { heart_rate: stat(60 + ((m / MIN) % 40), 60) }));
    const ofDay = m % DAY;
    if (ofDay === 7 * 3_600_000 || ofDay === 19 * 3_600_000) {
      await write(sealRollup(pki.keyring, gluc, m, 2, { blood_glucose: stat(100 + ((m / DAY) % 80)) }));
      const s = 120 + ((m / DAY) % 30);
      await write(
        sealRollup(pki.keyring, cuff, m, 3, {
          blood_pressure: {
            count: 1,
            systolic: { min: s, max: s, sum: s, n: 1 },
            diastolic: { min: 80, max: 80, sum: 80, n: 1 },
          },
        }),
      );
    }
  }
  await write();
  const loadReportS = (performance.now() - t0) / 1000;

  const reader = new InfluxTelemetryReader(influx, pki.keyring, {
    rollupsSince: () => rollupsSince(pki.store.meta),
  });
  const days = new InfluxSensedDays(influx, pki.keyring);
  let clock = now;
  const rpm = createRpmProgramme({
    store: pki.store,
    keyring: pki.keyring,
    timeZone: 'America/New_York',
    days,
    telemetry: reader,
    now: () => clock,
  });
  const tFirst = performance.now();
  await rpm.reports.report(reportPatient, 90);
  const firstMs = performance.now() - tFirst;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const report = await rpm.reports.report(reportPatient, 90);
    times.push(performance.now() - t);
    if (!report.heartRate || report.heartRate.minutes < 120_000) throw new Error('report missing minutes');
  }
  await reader.close();

  // 1,000 patients over last month.
  const calendar = new SiteCalendar('America/New_York');
  const month = calendar
    .dateOf(calendar.startOf(firstOfMonth(calendar.dateOf(now).slice(0, 7))) - 1)
    .slice(0, 7);
  const first = firstOfMonth(month);
  const t1 = performance.now();
  for (let p = 0; p < patients; p++) {
    const patientId = addPatient(pki, `P${p}`);
    pki.store.rpmEnrolments.put({
      patientId,
      monitoringStart: first,
      endedOn: null,
      consentAt: now,
      consentBy: 'bench',
      consentMethod: 'written',
      setupDate: first,
      enrolledBy: 'bench',
      enrolledAt: now,
    });
    const target = { deviceId: `bp-${p}`, patientId };
    for (let d = 0; d < 30; d++) {
      if ((d * 7 + p) % 3 === 0) continue;
      const start = calendar.startOf(addDays(first, d));
      for (const h of [8, 20])
        await write(sealRollup(pki.keyring, target, start + h * 3_600_000, 1, { blood_pressure: stat(125) }));
    }
  }
  await write();
  const loadCloseS = (performance.now() - t1) / 1000;
  clock = calendar.startOf(addDays(lastOfMonth(month), 1)) + DAY;
  const t2 = performance.now();
  const closed = await rpm.ledger.close(month, 'bench');
  const closeMs = performance.now() - t2;
  if (closed.statements !== patients) throw new Error(`closed ${closed.statements} statements`);
  const verify = pki.store.audit.verify();
  if (!verify.ok) throw new Error('audit chain broken after the close');

  console.log(
    JSON.stringify({
      bench: 'reports',
      report90d: {
        minutes: 129_600,
        runs,
        p50Ms: round(percentile(times, 0.5)),
        p95Ms: round(percentile(times, 0.95)),
        targetMs: 1000,
        firstMs: round(firstMs),
      },
      monthlyClose: { patients, month, ms: round(closeMs), targetMs: 60_000 },
      loadS: { report: round(loadReportS), close: round(loadCloseS) },
    }),
  );
} finally {
  await influxd.stop();
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
}
