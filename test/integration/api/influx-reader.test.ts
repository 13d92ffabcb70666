// The decrypting reader against a real InfluxDB, with ranges large enough for the streamed
// chunks to be opened partly in the worker thread: the same points as opened one by one, in
// order, across key versions; a tampered point fails the read; erasure makes it unreadable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientKeySubject } from '../../../core/patient-registry.js';
import { InfluxTelemetryReader } from '../../../dashboard-api/telemetry/influx-reader.js';
import {
  openReading,
  pointTime,
  pseudonymFor,
  sealEnvelope,
  type StoredPoint,
} from '../../../ingest/sealing.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient, countPoints } from '../../support/ingest.js';
import { testInflux, type TestInflux } from '../../support/influx.js';

const N = 6000;
const START = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3_600_000;
const END = START + N * 1000;

let pki: TestPki;
let influx: TestInflux;
let patientId: string;
const readers: InfluxTelemetryReader[] = [];

function reader(options: ConstructorParameters<typeof InfluxTelemetryReader>[2] = {}) {
  const r = new InfluxTelemetryReader(influx.client, pki.keyring, { chunkSize: 2000, ...options });
  readers.push(r);
  return r;
}

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  patientId = addPatient(pki);
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    // A new key version half way: chunks with one version go to the worker, mixed ones do not.
    if (i === N / 2) pki.keyring.rotate(patientKeySubject(patientId));
    lines.push(
      ...sealEnvelope(
        pki.keyring,
        { deviceId: i % 3 === 0 ? 'bp-w' : 'wear-w', patientId },
        {
          v: 1,
          seq: i + 1,
          ts: START + i * 1000,
          readings: [
            i % 3 === 0
              ? { type: 'blood_pressure', systolic: 100 + (i % 50), diastolic: 60 + (i % 20), unit: 'mm[Hg]' }
              : { type: 'heart_rate', value: 50 + (i % 90) + 0.25, unit: '/min' },
          ],
        },
      ),
    );
  }
  await influx.client.writeLines(lines, { precision: 'n' });
});
afterAll(async () => {
  await Promise.all(readers.map((r) => r.close()));
  await influx.drop();
  pki.cleanup();
});

async function openedOneByOne() {
  const series = await influx.client.query(
    `SELECT * FROM telemetry WHERE s = $s AND time >= ${START}ms AND time < ${END}ms`,
    { s: pseudonymFor(pki.keyring, patientId) },
  );
  return (series[0]!.rows as unknown as StoredPoint[]).map((p) => {
    const { deviceId, ts, reading } = openReading(pki.keyring, patientId, p);
    const { type, ts: _ts, ...values } = reading;
    return { ts, deviceId, type, values };
  });
}

describe('the decrypting reader', () => {
  it('gives the points opened one by one, oldest first, with or without the worker thread', async () => {
    const expected = await openedOneByOne();
    expect(expected).toHaveLength(N);
    const withWorker = await reader({ sliceMs: 86_400_000 }).read({ patientId, from: START, to: END });
    expect(withWorker).toEqual(expected);
    const sliced = await reader({ sliceMs: 600_000, concurrency: 3 }).read({
      patientId,
      from: START,
      to: END,
    });
    expect(sliced).toEqual(expected);
    const alone = await reader({ worker: false }).read({ patientId, from: START, to: END });
    expect(alone).toEqual(expected);
    const hr = await reader().read({ patientId, from: START, to: END, types: ['heart_rate'], limit: 10 });
    expect(hr).toEqual(expected.filter((p) => p.type === 'heart_rate').slice(0, 10));
  });

  it('fails the whole read when one point was altered, in the worker or not', async () => {
    const pseudonym = pseudonymFor(pki.keyring, patientId);
    // Reading 100 (seq 101) is a heart rate of wear-w; the altered copy replaces it in place.
    const ms = START + 100_000;
    const [series] = await influx.client.query(
      `SELECT c, k FROM telemetry WHERE s = $s AND d = 'wear-w' AND time >= ${ms}ms AND time < ${ms + 1}ms`,
      { s: pseudonym },
    );
    const row = series!.rows[0]!;
    const c = String(row.c);
    const flipped = `${c.slice(0, 40)}${c[40] === 'A' ? 'B' : 'A'}${c.slice(41)}`;
    const time = pointTime(ms, 101, 0);
    await influx.client.writeLines(
      [`telemetry,d=wear-w,s=${pseudonym},t=heart_rate c="${flipped}",k=${String(row.k)}i ${time}`],
      { precision: 'n' },
    );
    expect(await countPoints(influx.client)).toBe(N);
    for (const r of [reader({ sliceMs: 86_400_000 }), reader({ worker: false })])
      await expect(r.read({ patientId, from: START, to: END })).rejects.toMatchObject({
        code: 'DECRYPTION_FAILED',
      });
    await influx.client.writeLines(
      [`telemetry,d=wear-w,s=${pseudonym},t=heart_rate c="${c}",k=${String(row.k)}i ${time}`],
      { precision: 'n' },
    );
    await expect(reader().read({ patientId, from: START, to: END })).resolves.toHaveLength(N);
  });

  it('reads nothing once the patient’s key is shredded', async () => {
    pki.keyring.shred(patientKeySubject(patientId));
    await expect(reader().read({ patientId, from: START, to: END })).rejects.toMatchObject({
      code: 'KEY_DESTROYED',
    });
  });
});
