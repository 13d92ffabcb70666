// The FHIR R4 facade read by a FHIR client nobody here wrote (fhir-kit-client), over real HTTPS,
// with readings ingested through the mutual-TLS broker into a real InfluxDB. Every resource that
// comes back is validated against the official FHIR R4 JSON schema, and fhirpath evaluates the
// vital-signs invariants.
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import type { MqttClient } from 'mqtt';
import { Agent } from 'undici';
import type { ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { addPatient, envelope } from '../../support/ingest.js';
import { fhirValidator } from '../api/fhir-schema.js';
import { enrolledUser, startTestHub, type TestHub } from '../api/harness.js';
import { errorCode, fhirClient as kitClient, fhirId, refusal } from './fhir-client.js';

type Resource = Record<string, unknown> & { resourceType: string; id?: string };
type Bundle = Resource & {
  total: number;
  link: { relation: string; url: string }[];
  entry?: { fullUrl: string; resource: Resource; search: { mode: string } }[];
};

let hub: TestHub;
let patientA: string;
let patientB: string;
let dispatcher: Agent;
let token: string;
const devices: MqttClient[] = [];
const t0 = Date.parse('2026-11-30T08:00:00.000Z');
const HR_COUNT = 40;

const validators = new Map<string, ValidateFunction>();
function expectValid(resource: Resource): void {
  let validate = validators.get(resource.resourceType);
  if (!validate) validators.set(resource.resourceType, (validate = fhirValidator(resource.resourceType)));
  expect(
    validate(resource),
    `${resource.resourceType}: ${JSON.stringify(validate.errors?.slice(0, 3))}`,
  ).toBe(true);
}
function expectBundleValid(bundle: Bundle): void {
  expectValid(bundle);
  for (const e of bundle.entry ?? []) expectValid(e.resource);
}

function fhirClient(bearer = token) {
  return kitClient(hub.client.port, dispatcher, bearer);
}

beforeAll(async () => {
  hub = await startTestHub();
  dispatcher = new Agent({ connect: { ca: hub.pki.authority.caBundlePem() } });
  patientA = addPatient(hub.pki, 'Grace Hopper');
  patientB = addPatient(hub.pki, 'Alan Turing');
  const wear = await hub.pki.issueDevice('fhir_wear-a', 'wearable', { patientId: patientA });
  hub.pki.store.db.prepare('UPDATE devices SET model = ? WHERE id = ?').run('VG-Band 2', 'fhir_wear-a');
  const cuff = await hub.pki.issueDevice('fhir-bp-a', 'bp_monitor', { patientId: patientA });
  const other = await hub.pki.issueDevice('fhir-wear-b', 'wearable', { patientId: patientB });
  const w = await connectDevice(hub.brokerPort, wear, 'fhir_wear-a');
  const b = await connectDevice(hub.brokerPort, cuff, 'fhir-bp-a');
  const o = await connectDevice(hub.brokerPort, other, 'fhir-wear-b');
  devices.push(w, b, o);
  for (let seq = 1; seq <= HR_COUNT; seq++) {
    const reading = [{ type: 'heart_rate', value: 60 + seq, unit: '/min' }];
    await publishQos1(
      w,
      'devices/fhir_wear-a/telemetry',
      envelope(seq, reading, t0 + seq * 60_000).toString(),
    );
  }
  for (let seq = 1; seq <= 3; seq++) {
    const bp = [{ type: 'blood_pressure', systolic: 120 + seq, diastolic: 80 + seq, unit: 'mm[Hg]' }];
    await publishQos1(b, 'devices/fhir-bp-a/telemetry', envelope(seq, bp, t0 + seq * 600_000 + 1).toString());
    const hr = [{ type: 'heart_rate', value: 70, unit: '/min' }];
    await publishQos1(o, 'devices/fhir-wear-b/telemetry', envelope(seq, hr, t0 + seq * 60_000).toString());
  }
  expect(await hub.pipeline.writer.drained()).toBe(true);
  const dr = await enrolledUser(hub, 'dr.fhir', 'clinician');
  hub.pki.store.patients.assign(patientA, 'dr.fhir');
  token = dr.token;
  fhirValidator('Bundle'); // the schema is compiled once, here, not inside a test's time
}, 120_000);

afterAll(async () => {
  for (const d of devices) await d.endAsync();
  await dispatcher?.close();
  await hub?.close();
});

describe('the FHIR R4 facade, read with fhir-kit-client', () => {
  it('serves a CapabilityStatement that names only what is implemented', async () => {
    const cs = (await fhirClient('none').capabilityStatement()) as Resource & {
      fhirVersion: string;
      rest: {
        resource: { type: string; interaction: { code: string }[]; operation?: { name: string }[] }[];
      }[];
    };
    expectValid(cs);
    expect(cs.fhirVersion).toBe('4.0.1');
    const resources = cs.rest[0]!.resource;
    expect(resources.map((r) => r.type)).toEqual(['Patient', 'Device', 'Observation', 'Communication']);
    for (const r of resources) expect(r.interaction.map((i) => i.code)).toEqual(['read', 'search-type']);
    expect(resources[0]!.operation?.map((o) => o.name)).toEqual(['everything']);
  });

  it('searches Observations by date range and follows next links to the last page', async () => {
    const client = fhirClient();
    const from = new Date(t0 + 10 * 60_000).toISOString();
    const to = new Date(t0 + 30 * 60_000).toISOString();
    let bundle = (await client.search({
      resourceType: 'Observation',
      searchParams: { patient: `Patient/${fhirId(patientA)}`, date: [`ge${from}`, `le${to}`], _count: 4 },
    })) as Bundle;
    const seen: Resource[] = [];
    let pages = 0;
    for (;;) {
      pages++;
      expectBundleValid(bundle);
      expect(bundle.total).toBe(23); // heart rate minutes 10..30 and blood pressure at 10 and 20 minutes
      seen.push(...(bundle.entry ?? []).map((e) => e.resource));
      const next = client.nextPage({ bundle } as never);
      if (!next) break;
      bundle = (await next) as Bundle;
    }
    expect(pages).toBe(6);
    expect(seen).toHaveLength(23);
    expect(new Set(seen.map((r) => r.id)).size).toBe(23);
    const times = seen.map((r) => Date.parse(r.effectiveDateTime as string));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.min(...times)).toBe(t0 + 10 * 60_000);
    expect(Math.max(...times)).toBe(t0 + 30 * 60_000);
    for (const obs of seen) {
      expect(obs.subject).toEqual({ reference: `Patient/${fhirId(patientA)}` });
      expect(
        fhirpath.evaluate(
          obs,
          "category.coding.where(system='http://terminology.hl7.org/CodeSystem/observation-category').code",
          undefined,
          r4,
        ),
      ).toEqual(['vital-signs']);
      // vs-2: a value, or components
      expect(fhirpath.evaluate(obs, 'value.exists() or component.exists()', undefined, r4)).toEqual([true]);
      expect(
        fhirpath.evaluate(obs, "code.coding.where(system='http://loinc.org').exists()", undefined, r4),
      ).toEqual([true]);
    }
    const hr = seen.find((o) => JSON.stringify(o.code).includes('8867-4'))!;
    expect(
      fhirpath.evaluate(hr, "valueQuantity.where(system='http://unitsofmeasure.org').code", undefined, r4),
    ).toEqual(['/min']);
    // `fhir_wear-a` is no FHIR id (the underscore): the Device is named by a hash of it.
    expect((hr.device as { reference: string }).reference).toMatch(/^Device\/d-[0-9a-f]{40}$/);
  });

  it('finds blood pressure panels by code, newest first, with systolic and diastolic in mm[Hg]', async () => {
    const client = fhirClient();
    const bundle = (await client.search({
      resourceType: 'Observation',
      searchParams: {
        patient: fhirId(patientA),
        code: 'http://loinc.org|85354-9',
        date: [`ge2026-11-30`, `le2026-11-30`],
        _sort: '-date',
      },
    })) as Bundle;
    expectBundleValid(bundle);
    const panels = bundle.entry!.map((e) => e.resource);
    expect(panels).toHaveLength(3);
    expect(panels.map((p) => p.effectiveDateTime)).toEqual(
      [3, 2, 1].map((i) => new Date(t0 + i * 600_000 + 1).toISOString()),
    );
    for (const bp of panels) {
      const invariant =
        "component.where(code.coding.where(system='http://loinc.org' and code='8480-6').exists()).valueQuantity.where(system='http://unitsofmeasure.org' and code='mm[Hg]').exists()" +
        " and component.where(code.coding.where(system='http://loinc.org' and code='8462-4').exists()).valueQuantity.where(system='http://unitsofmeasure.org' and code='mm[Hg]').exists()";
      expect(fhirpath.evaluate(bp, invariant, undefined, r4)).toEqual([true]);
      expect(fhirpath.evaluate(bp, 'value.exists()', undefined, r4)).toEqual([false]);
      expect(fhirpath.evaluate(bp, 'meta.profile', undefined, r4)).toEqual([
        'http://hl7.org/fhir/StructureDefinition/vitalsigns',
      ]);
    }
    const read = (await client.read({ resourceType: 'Observation', id: panels[0]!.id! })) as Resource;
    expectValid(read);
    expect(read).toEqual(panels[0]);
  });

  it('reads Patient with demographics, Devices with their patient, and only the assigned patient', async () => {
    const client = fhirClient();
    const patient = (await client.read({ resourceType: 'Patient', id: fhirId(patientA) })) as Resource;
    expectValid(patient);
    expect(patient).toMatchObject({
      id: fhirId(patientA),
      name: [{ text: 'Grace Hopper' }],
      birthDate: '1950-01-01',
    });
    const patients = (await client.search({ resourceType: 'Patient', searchParams: {} })) as Bundle;
    expectBundleValid(patients);
    expect(patients.entry!.map((e) => e.resource.id)).toEqual([fhirId(patientA)]);
    const found = (await client.search({
      resourceType: 'Device',
      searchParams: { patient: fhirId(patientA) },
    })) as Bundle;
    expectBundleValid(found);
    const list = found.entry!.map((e) => e.resource);
    expect(list.map((d) => (d.identifier as { value: string }[])[0]!.value).sort()).toEqual([
      'fhir-bp-a',
      'fhir_wear-a',
    ]);
    const wear = list.find((d) => JSON.stringify(d).includes('fhir_wear-a'))!;
    expect(wear).toMatchObject({
      status: 'active',
      modelNumber: 'VG-Band 2',
      type: { text: 'wearable' },
      patient: { reference: `Patient/${fhirId(patientA)}` },
    });
    expect(await client.read({ resourceType: 'Device', id: wear.id! })).toEqual(wear);
    const reads = hub.pki.store.audit.list({ actor: 'user:dr.fhir', action: 'phi.read', outcome: 'success' });
    const what = new Set(reads.map((e) => e.details?.what));
    for (const w of ['fhir.Patient', 'fhir.Device', 'fhir.Observation']) expect(what).toContain(w);
  });

  it('returns $everything for one patient and a range: Patient, Devices and Observations', async () => {
    const client = fhirClient();
    const bundle = (await client.operation({
      resourceType: 'Patient',
      id: fhirId(patientA),
      name: '$everything',
      method: 'GET',
      input: { start: new Date(t0).toISOString(), end: new Date(t0 + 5 * 60_000).toISOString() },
    })) as Bundle;
    expectBundleValid(bundle);
    const types = bundle.entry!.map((e) => e.resource.resourceType);
    expect(types).toEqual(['Patient', 'Device', 'Device', ...Array(5).fill('Observation')]);
    expect(bundle.total).toBe(8);
  });

  it('refuses with an OperationOutcome, audited, and shows nothing', async () => {
    const denied = await refusal(fhirClient().read({ resourceType: 'Patient', id: fhirId(patientB) }));
    expect(denied.status).toBe(403);
    expectValid(denied.outcome);
    expect(errorCode(denied.outcome)).toBe('PATIENT_NOT_ACCESSIBLE');
    expect(JSON.stringify(denied.outcome)).not.toContain('Alan');
    const search = await refusal(
      fhirClient().search({ resourceType: 'Observation', searchParams: { patient: fhirId(patientB) } }),
    );
    expect(search.status).toBe(403);
    expect(
      hub.pki.store.audit
        .list({ actor: 'user:dr.fhir', action: 'phi.read', outcome: 'denied', target: `patient:${patientB}` })
        .map((e) => e.details?.what),
    ).toEqual(expect.arrayContaining(['fhir.Patient', 'fhir.Observation']));

    const anonymous = await refusal(
      fhirClient('not-a-session').search({ resourceType: 'Device', searchParams: {} }),
    );
    expect(anonymous.status).toBe(401);
    expectValid(anonymous.outcome);

    const admin = await enrolledUser(hub, 'admin.fhir', 'admin');
    const wrongRole = await refusal(
      fhirClient(admin.token).read({ resourceType: 'Patient', id: fhirId(patientA) }),
    );
    expect(wrongRole.status).toBe(403);
    expect(errorCode(wrongRole.outcome)).toBe('PHI_NOT_PERMITTED');

    const cases: [Record<string, string | string[]>, string][] = [
      [{ patient: fhirId(patientA), date: 'ge2026-13-01' }, 'RANGE_INVALID'],
      [{ patient: fhirId(patientA), date: ['ge2026-01-01', 'le2026-11-30'] }, 'RANGE_INVALID'],
      [{ patient: fhirId(patientA), _count: '0' }, 'BAD_REQUEST'],
      [{ patient: fhirId(patientA), 'value-quantity': 'gt100' }, 'BAD_REQUEST'],
      [{ date: 'ge2026-11-30' }, 'BAD_REQUEST'],
    ];
    for (const [searchParams, code] of cases) {
      const bad = await refusal(fhirClient().search({ resourceType: 'Observation', searchParams }));
      expect(bad.status, JSON.stringify(searchParams)).toBe(400);
      expectValid(bad.outcome);
      expect(errorCode(bad.outcome)).toBe(code);
    }
    const missing = await refusal(fhirClient().read({ resourceType: 'Observation', id: 'nope' }));
    expect(missing.status).toBe(404);
    const unimplemented = await refusal(fhirClient().read({ resourceType: 'Communication', id: 'x' }));
    expect(unimplemented.status).toBe(404);
    expectValid(unimplemented.outcome);
  });
});
