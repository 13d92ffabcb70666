// The full clinician flow over real HTTPS, with telemetry ingested through the mutual-TLS broker
// into a real InfluxDB: login → MFA → assigned patients → telemetry → FHIR bundle (validated
// against the official schema) → live stream → logout → the token is dead.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { addPatient, envelope } from '../../support/ingest.js';
import { fhirBundleValidator } from './fhir-schema.js';
import { enrolledUser, login, startTestHub, waitFor, type TestHub } from './harness.js';

let hub: TestHub;
let patientId: string;
let wearable: MqttClient;
let bp: MqttClient;
let lingering: ReturnType<TestHub['client']['stream']> | undefined;
const t0 = Date.now() - 10 * 60_000;

beforeAll(async () => {
  hub = await startTestHub();
  patientId = addPatient(hub.pki, 'Ada Lovelace');
  const wear = await hub.pki.issueDevice('wear-flow', 'wearable', { patientId });
  const cuff = await hub.pki.issueDevice('bp-flow', 'bp_monitor', { patientId });
  wearable = await connectDevice(hub.brokerPort, wear, 'wear-flow');
  bp = await connectDevice(hub.brokerPort, cuff, 'bp-flow');
  for (let seq = 1; seq <= 30; seq++) {
    const ts = t0 + seq * 10_000;
    await publishQos1(
      wearable,
      'devices/wear-flow/telemetry',
      envelope(
        seq,
        [
          { type: 'heart_rate', value: 60 + seq, unit: '/min' },
          { type: 'spo2', value: 97, unit: '%' },
          ...(seq === 5
            ? [{ type: 'ecg', sampleRateHz: 250, samples: [0.1, 0.4, 1.2, -0.3], unit: 'mV' }]
            : []),
        ],
        ts,
      ).toString(),
    );
  }
  await publishQos1(
    bp,
    'devices/bp-flow/telemetry',
    envelope(
      1,
      [{ type: 'blood_pressure', systolic: 128, diastolic: 82, unit: 'mm[Hg]' }],
      t0 + 60_000,
    ).toString(),
  );
  expect(await hub.pipeline.writer.drained()).toBe(true);
}, 60_000);

afterAll(async () => {
  await wearable?.endAsync();
  await bp?.endAsync();
  await hub?.close();
  expect(lingering?.events.at(-1)).toEqual({ event: 'end', data: { reason: 'server_closing' } });
});

describe('a clinician, end to end over HTTPS', () => {
  it('logs in with MFA, reads assigned patients, telemetry and FHIR, follows the live stream, logs out', async () => {
    const dr = await enrolledUser(hub, 'dr.flow', 'clinician');
    hub.pki.store.patients.assign(patientId, 'dr.flow');
    const { client } = hub;
    const auth = { token: dr.token };

    const session = await client.request('GET', '/api/v1/auth/session', auth);
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ username: 'dr.flow', role: 'clinician' });

    const patients = await client.request('GET', '/api/v1/patients', auth);
    expect(patients.status).toBe(200);
    expect(patients.body).toEqual([
      expect.objectContaining({ id: patientId, name: 'Ada Lovelace', access: 'assignment' }),
    ]);

    const from = t0;
    const to = Date.now();
    const raw = await client.request(
      'GET',
      `/api/v1/patients/${patientId}/telemetry?from=${from}&to=${to}`,
      auth,
    );
    expect(raw.status).toBe(200);
    const series = (
      raw.body as { series: { type: string; unit: string; points: Record<string, unknown>[] }[] }
    ).series;
    const hr = series.find((s) => s.type === 'heart_rate')!;
    expect(hr.unit).toBe('/min');
    expect(hr.points).toHaveLength(30);
    expect(hr.points[0]).toEqual({ ts: t0 + 10_000, deviceId: 'wear-flow', value: 61 });
    expect(series.find((s) => s.type === 'blood_pressure')!.points[0]).toMatchObject({
      systolic: 128,
      diastolic: 82,
    });

    const view = await client.request(
      'GET',
      `/api/v1/patients/${patientId}/telemetry?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&type=heart_rate&resolution=1m`,
      auth,
    );
    expect(view.status).toBe(200);
    const buckets = (
      view.body as {
        series: { type: string; buckets: { count: number; value: { min: number; max: number } }[] }[];
      }
    ).series[0]!.buckets;
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(30);
    expect(Math.min(...buckets.map((b) => b.value.min))).toBe(61);
    expect(Math.max(...buckets.map((b) => b.value.max))).toBe(90);

    const fhir = await client.request(
      'GET',
      `/api/v1/patients/${patientId}/observations?from=${from}&to=${to}`,
      auth,
    );
    expect(fhir.status).toBe(200);
    expect(fhir.headers['content-type']).toContain('application/fhir+json');
    const bundle = fhir.body as {
      resourceType: string;
      type: string;
      total: number;
      entry: { resource: Record<string, unknown> }[];
    };
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 62 });
    const validate = fhirBundleValidator();
    expect(validate(bundle), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const obs = bundle.entry.map((e) => e.resource);
    const hrObs = obs.find((o) => JSON.stringify(o.code).includes('8867-4'))!;
    expect(hrObs).toMatchObject({
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
          ],
        },
      ],
      subject: { reference: `Patient/${patientId}` },
      device: { reference: 'Device/wear-flow' },
      valueQuantity: { system: 'http://unitsofmeasure.org', code: '/min', unit: '/min' },
    });
    expect(typeof hrObs.effectiveDateTime).toBe('string');
    const bpObs = obs.find((o) => JSON.stringify(o.code).includes('85354-9'))!;
    expect(bpObs.component).toEqual([
      expect.objectContaining({
        code: { coding: [expect.objectContaining({ code: '8480-6' })] },
        valueQuantity: expect.objectContaining({ value: 128, code: 'mm[Hg]' }),
      }),
      expect.objectContaining({
        code: { coding: [expect.objectContaining({ code: '8462-4' })] },
        valueQuantity: expect.objectContaining({ value: 82 }),
      }),
    ]);
    const ecgObs = obs.find((o) => 'valueSampledData' in o)!;
    expect(ecgObs.valueSampledData).toMatchObject({ period: 4, dimensions: 1, data: '0.1 0.4 1.2 -0.3' });

    const stream = client.stream(`/api/v1/patients/${patientId}/live`, dr.token);
    await stream.opened;
    expect(stream.status).toBe(200);
    await publishQos1(
      wearable,
      'devices/wear-flow/telemetry',
      envelope(31, [{ type: 'heart_rate', value: 142, unit: '/min' }], Date.now()).toString(),
    );
    await waitFor(() => stream.events.some((e) => e.event === 'reading'));
    expect(stream.events.find((e) => e.event === 'reading')!.data).toMatchObject({
      type: 'heart_rate',
      value: 142,
      deviceId: 'wear-flow',
    });
    await waitFor(() => stream.events.some((e) => e.event === 'alert'));
    expect(stream.events.find((e) => e.event === 'alert')!.data).toMatchObject({
      rule: 'heart_rate_high',
      change: 'raised',
    });

    // A second stream stays open until the server closes (the hub's shutdown must not hang on it).
    lingering = client.stream(`/api/v1/patients/${patientId}/live`, await login(hub, dr));
    await lingering.opened;
    const logout = await client.request('POST', '/api/v1/auth/logout', auth);
    expect(logout.status).toBe(204);
    await waitFor(() => stream.ended);
    expect(stream.events.at(-1)).toEqual({ event: 'end', data: { reason: 'session_ended' } });
    const dead = await client.request('GET', `/api/v1/patients/${patientId}/telemetry`, auth);
    expect(dead.status).toBe(401);
    expect(dead.body).toEqual({ error: { code: 'UNAUTHENTICATED', message: 'a valid session is required' } });

    // Every PHI read is in the audit chain: who, which patient, what, from where.
    const reads = hub.pki.store.audit.list({ action: 'phi.read', actor: 'user:dr.flow', outcome: 'success' });
    expect(new Set(reads.map((r) => r.details?.what))).toEqual(
      new Set(['demographics', 'telemetry', 'observations', 'live']),
    );
    expect(reads.every((r) => r.target === `patient:${patientId}` && r.source === '127.0.0.1')).toBe(true);
    expect(hub.pki.store.audit.verify().ok).toBe(true);
    expect(lingering.ended).toBe(false);
  });

  it('pages a FHIR search: `total` counts every match, `next` links lead through all of them once', async () => {
    const dr = await enrolledUser(hub, 'dr.pages', 'clinician');
    hub.pki.store.patients.assign(patientId, 'dr.pages');
    const auth = { token: dr.token };
    // The readings published before the tests: 30 heart rates, 30 SpO2, one ECG chunk, one BP.
    const to = t0 + 400_000;
    const two = await hub.client.request(
      'GET',
      `/api/v1/patients/${patientId}/observations?from=${t0}&to=${to}&_count=2`,
      auth,
    );
    expect(two.status).toBe(200);
    expect(two.body).toMatchObject({ total: 62 });
    expect((two.body as { entry: unknown[] }).entry).toHaveLength(2);

    type Page = {
      total: number;
      link: { relation: string; url: string }[];
      entry: { resource: { id: string; effectiveDateTime: string } }[];
    };
    const pages: Page[] = [];
    let path: string | undefined = `/api/v1/patients/${patientId}/observations?from=${t0}&to=${to}&_count=25`;
    while (path) {
      const res = await hub.client.request('GET', path, auth);
      expect(res.status).toBe(200);
      const page = res.body as Page;
      expect(fhirBundleValidator()(page)).toBe(true);
      pages.push(page);
      const next = page.link.find((l) => l.relation === 'next')?.url;
      path = next ? new URL(next).pathname + new URL(next).search : undefined;
      expect(pages.length).toBeLessThanOrEqual(3);
    }
    expect(pages.map((p) => p.entry.length)).toEqual([25, 25, 12]);
    expect(pages.every((p) => p.total === 62)).toBe(true);
    const resources = pages.flatMap((p) => p.entry.map((e) => e.resource));
    expect(new Set(resources.map((r) => r.id)).size).toBe(62);
    const times = resources.map((r) => Date.parse(r.effectiveDateTime));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const beyond = await hub.client.request(
      'GET',
      `/api/v1/patients/${patientId}/observations?from=${t0}&to=${to}&_count=25&_offset=100`,
      auth,
    );
    expect(beyond.body).toMatchObject({ total: 62, entry: [] });
    expect((beyond.body as Page).link.map((l) => l.relation)).toEqual(['self']);
  });
});
