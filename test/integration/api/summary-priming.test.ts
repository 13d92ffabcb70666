// The API seeds every patient's latest vitals once it is ready (primeSummaries, as the hub runs
// it), so the first "My patients" after a start reads nothing from storage; without it the
// first summary reads. The telemetry reader is a stand-in that counts reads (no InfluxDB needed
// for what is counted here); the API, control plane and PKI are real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryReader } from '../../../dashboard-api/ports.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { apiOverTestPki } from '../../support/pki-api.js';

let pki: TestPki;
const patients: string[] = [];
let reads = 0;
const reader: TelemetryReader = {
  read: async () => {
    reads += 1;
    return [];
  },
};

async function api(primeSummaries: boolean) {
  const app = await apiOverTestPki(pki, reader, { primeSummaries });
  await app.ready();
  return app;
}

async function myPatients(app: Awaited<ReturnType<typeof api>>, username: string) {
  const { token } = app.apiContext.sessions.create(username, '127.0.0.1');
  const res = await app.inject({ url: '/api/v1/me/patients', headers: { authorization: `Bearer ${token}` } });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { patients: { id: string }[] }).patients.map((p) => p.id).sort();
}

beforeAll(async () => {
  pki = await createTestPki();
  for (const name of ['Primed One', 'Primed Two']) {
    const id = addPatient(pki, name);
    pki.store.devices.add({ id: `wear-${patients.length}`, kind: 'wearable', patientId: id });
    patients.push(id);
  }
});
afterAll(() => pki.cleanup());

describe('summaries primed at start', () => {
  it('seeds every patient once the API is ready; the first My patients then reads nothing', async () => {
    const app = await api(true);
    expect(await app.apiContext.summariesPrimed).toBe(0);
    const seeded = reads;
    expect(seeded).toBeGreaterThanOrEqual(patients.length);
    await app.apiContext.users.create('dr.primed', 'clinician', 'test');
    for (const id of patients) pki.store.patients.assign(id, 'dr.primed');
    expect(await myPatients(app, 'dr.primed')).toEqual([...patients].sort());
    expect(reads).toBe(seeded);
    await app.close();
  });

  it('without it, the first My patients reads storage', async () => {
    const app = await api(false);
    expect(app.apiContext.summariesPrimed).toBeUndefined();
    const before = reads;
    expect(await myPatients(app, 'dr.primed')).toEqual([...patients].sort());
    expect(reads).toBeGreaterThan(before);
    await app.close();
  });
});
