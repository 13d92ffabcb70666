// FHIR server benchmark: one patient's 24 h of 1 Hz heart rate (86,400 readings, sealed as
// ingest seals them, in a private InfluxDB), searched through /fhir/R4 as a FHIR client does
// (`Observation?patient&code&date=ge&date=le&_count=1000`, following every `next` link to the
// end), against the same range from /api/v1/patients/{id}/telemetry in the same run (target:
// the FHIR walk within 2× of it). Both over real HTTPS, alternating; wall time and the process's
// CPU time (client and server both) per run. Prints one JSON line.
//   npx tsx bench/fhir.ts [--runs 5]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fhirPatientId } from '../fhir/ids.js';
import { N, clinicianApi, heartRateDayHub, percentile, round } from './heart-rate-day.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);

const { pki, stop, patientId, reader, start, end, loadMs } = await heartRateDayHub();
const http = await clinicianApi(pki, reader, patientId);

/** CPU time of this process (client and server both run in it) since `from`, in ms. */
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};

/** One FHIR search of the day, every page: its time, CPU time, pages and Observations. */
async function fhirWalk() {
  const began = performance.now();
  const cpu = process.cpuUsage();
  const first = new URLSearchParams({
    patient: fhirPatientId(patientId),
    code: 'http://loinc.org|8867-4',
    _count: '1000',
  });
  first.append('date', `ge${new Date(start).toISOString()}`);
  first.append('date', `le${new Date(end).toISOString()}`);
  let path: string | undefined = `/fhir/R4/Observation?${first.toString()}`;
  let pages = 0;
  let observations = 0;
  let bytes = 0;
  while (path) {
    const r = await http.get(path);
    if (r.status !== 200) throw new Error(`fhir page ${pages}: HTTP ${r.status}`);
    const bundle = JSON.parse(r.body.toString('utf8')) as {
      entry?: unknown[];
      link: { relation: string; url: string }[];
    };
    pages++;
    bytes += r.bytes;
    observations += bundle.entry?.length ?? 0;
    const next = bundle.link.find((l) => l.relation === 'next')?.url;
    path = next ? new URL(next).pathname + new URL(next).search : undefined;
  }
  if (observations !== N) throw new Error(`the FHIR walk found ${observations} Observations, not ${N}`);
  return { ms: performance.now() - began, cpuMs: cpuMs(cpu), pages, bytes };
}

/** One read of the day from the API's telemetry route: its time and CPU time. */
async function telemetryRead() {
  const cpu = process.cpuUsage();
  const r = await http.get(
    `/api/v1/patients/${patientId}/telemetry?from=${start}&to=${end}&type=heart_rate&limit=200000`,
  );
  if (r.status !== 200) throw new Error(`telemetry: HTTP ${r.status}`);
  return { ms: r.ms, cpuMs: cpuMs(cpu), bytes: r.bytes };
}

// Alternating, so a change in the machine's load falls on both alike.
const reads = [];
const walks = [];
for (let i = 0; i < runs; i++) {
  reads.push(await telemetryRead());
  walks.push(await fhirWalk());
}
const telemetry = { times: reads.map((r) => r.ms), bytes: reads[0]!.bytes };

const p50 = (xs: number[]) => round(percentile(xs, 0.5));
const p95 = (xs: number[]) => round(percentile(xs, 0.95));
const fhirTimes = walks.map((w) => w.ms);
console.log(
  JSON.stringify({
    bench: 'fhir',
    points: N,
    runs,
    loadMs: Math.round(loadMs),
    telemetryDayHttps: { p50: p50(telemetry.times), p95: p95(telemetry.times), bytes: telemetry.bytes },
    fhirDaySearchHttps: {
      p50: p50(fhirTimes),
      p95: p95(fhirTimes),
      pages: walks[0]!.pages,
      bytes: walks[0]!.bytes,
    },
    fhirVsTelemetry: round(percentile(fhirTimes, 0.5) / percentile(telemetry.times, 0.5)),
    // CPU time (client and server, this process): less swayed by other work on the machine.
    cpuMs: { telemetry: p50(reads.map((r) => r.cpuMs)), fhir: p50(walks.map((w) => w.cpuMs)) },
    fhirVsTelemetryCpu: round(p50(walks.map((w) => w.cpuMs)) / p50(reads.map((r) => r.cpuMs))),
    loadAverage: os.loadavg().map((l) => round(l)),
  }),
);

await http.close();
await reader.close();
await stop();
