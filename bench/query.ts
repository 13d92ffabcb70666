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
import { parseArgs } from 'node:util';
import { InfluxTelemetryReader } from '../dashboard-api/telemetry/influx-reader.js';
import { N, clinicianApi, heartRateDayHub, percentile, round } from './heart-rate-day.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);
// 24 h of 1 Hz heart rate, sealed exactly as ingest seals it, plus the plaintext twin.
const { pki, stop, influx, patientId, reader, start, end, loadMs } = await heartRateDayHub();
const http = await clinicianApi(pki, reader, patientId);
const timeRuns = (label: string, path: string, n = runs) => http.timeRuns(label, path, n);

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
http.api.apiContext.telemetry.forget(patientId);
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

await http.close();
await stop();
