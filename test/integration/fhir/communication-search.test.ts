// The Communication entry of the CapabilityStatement is what the server does: every interaction
// and search parameter it declares for Communication is exercised here with a FHIR client nobody
// here wrote (fhir-kit-client), over real HTTPS, on excerpts filed through the real messaging and
// store; what comes back validates against the official FHIR R4 JSON schema. A parameter or a
// caller the server does not serve is refused with an OperationOutcome, and the refusal shows
// nothing of the record.
import type { ValidateFunction } from 'ajv';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPatient } from '../../support/ingest.js';
import { fhirValidator } from '../api/fhir-schema.js';
import { enrolledUser, startTestHub, type TestHub } from '../api/harness.js';
import { errorCode, fhirClient, fhirId, refusal } from './fhir-client.js';

type Resource = Record<string, unknown> & { resourceType: string; id?: string };
type Bundle = Resource & {
  total: number;
  link: { relation: string; url: string }[];
  entry?: { fullUrl: string; resource: Resource }[];
};
type Declared = {
  type: string;
  interaction: { code: string }[];
  searchParam: { name: string; type: string }[];
};

const TEXT = ['SpO2 of bed 12 dropping since 3 am, can you look? wombat-17', 'on my way', 'probe refitted'];
let hub: TestHub;
let dispatcher: Agent;
let patientId: string;
let otherPatientId: string;
const tokens: Record<string, string> = {};
const filedIds: string[] = [];
let validateCommunication: ValidateFunction;
let validateBundle: ValidateFunction;

const client = (who: string) => fhirClient(hub.client.port, dispatcher, tokens[who] ?? 'none');
const messaging = () => hub.api.apiContext.messaging;

function expectValid(validate: ValidateFunction, resource: unknown): void {
  expect(validate(resource), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
}

beforeAll(async () => {
  hub = await startTestHub();
  dispatcher = new Agent({ connect: { ca: hub.pki.authority.caBundlePem() } });
  patientId = addPatient(hub.pki, 'Mary Seacole');
  otherPatientId = addPatient(hub.pki, 'Clara Barton');
  for (const name of ['dr.comm', 'dr.peer', 'dr.elsewhere'])
    tokens[name] = (await enrolledUser(hub, name, 'clinician')).token;
  hub.pki.store.patients.assign(patientId, 'dr.comm');
  hub.pki.store.patients.assign(patientId, 'dr.peer');
  hub.pki.store.patients.assign(otherPatientId, 'dr.elsewhere');
  // Three filed excerpts of the patient's conversation, one of the other patient's.
  const { conversation } = messaging().conversations.openForPatient(patientId, 'dr.comm');
  for (const [i, body] of TEXT.entries()) {
    const m = messaging().conversations.send(conversation, i === 1 ? 'dr.peer' : 'dr.comm', {
      body,
      priority: i === 0 ? 'urgent' : 'normal',
    });
    const { digest } = messaging().filing.preview(conversation, [m.id]);
    filedIds.push(messaging().filing.file(conversation, [m.id], digest, 'dr.comm').id);
  }
  const other = messaging().conversations.openForPatient(otherPatientId, 'dr.elsewhere').conversation;
  const m = messaging().conversations.send(other, 'dr.elsewhere', { body: 'elsewhere', priority: 'normal' });
  messaging().filing.file(other, [m.id], messaging().filing.preview(other, [m.id]).digest, 'dr.elsewhere');
  validateCommunication = fhirValidator('Communication');
  validateBundle = fhirValidator('Bundle');
}, 120_000);

afterAll(async () => {
  await dispatcher?.close();
  await hub?.close();
});

describe('Communication as the CapabilityStatement declares it', () => {
  let declared: Declared;

  it('is declared with read, search-type and the parameters patient and _count', async () => {
    const cs = (await client('none').capabilityStatement()) as unknown as {
      rest: { resource: Declared[] }[];
    };
    declared = cs.rest[0]!.resource.find((r) => r.type === 'Communication')!;
    expect(declared.interaction.map((i) => i.code)).toEqual(['read', 'search-type']);
    expect(declared.searchParam.map((p) => [p.name, p.type])).toEqual([
      ['patient', 'reference'],
      ['_count', 'number'],
    ]);
  });

  it('search-type by `patient` and `_count` pages through the patient’s filed Communications, oldest first', async () => {
    expect(declared.interaction.some((i) => i.code === 'search-type')).toBe(true);
    const c = client('dr.comm');
    let bundle = (await c.search({
      resourceType: 'Communication',
      searchParams: { patient: `Patient/${fhirId(patientId)}`, _count: 2 },
    })) as Bundle;
    const seen: Resource[] = [];
    for (;;) {
      expectValid(validateBundle, bundle);
      expect(bundle.total).toBe(3);
      for (const e of bundle.entry ?? []) {
        expectValid(validateCommunication, e.resource);
        seen.push(e.resource);
      }
      if (!bundle.link.some((l) => l.relation === 'next')) break;
      bundle = (await c.nextPage({ bundle } as never)) as Bundle;
    }
    expect(seen.map((r) => r.id)).toEqual(filedIds);
    expect(seen.map((r) => r.subject)).toEqual(
      filedIds.map(() => ({ reference: `Patient/${fhirId(patientId)}` })),
    );
    expect((seen[0]!.payload as { contentString: string }[])[0]!.contentString).toContain(TEXT[0]);
    expect(seen.map((r) => r.priority)).toEqual(['urgent', 'routine', 'routine']);
    // A bare id (no "Patient/") names the same patient.
    const bare = (await c.search({
      resourceType: 'Communication',
      searchParams: { patient: fhirId(patientId) },
    })) as Bundle;
    expect(bare.entry?.map((e) => e.resource.id)).toEqual(filedIds);
  });

  it('read gives one Communication by its id', async () => {
    expect(declared.interaction.some((i) => i.code === 'read')).toBe(true);
    const r = (await client('dr.peer').read({ resourceType: 'Communication', id: filedIds[1]! })) as Resource;
    expectValid(validateCommunication, r);
    expect(r).toMatchObject({ id: filedIds[1], sender: { display: 'dr.peer' } });
  });

  it('refuses what it does not declare, and callers who may not read the patient, showing nothing', async () => {
    const c = client('dr.comm');
    const noPatient = await refusal(c.search({ resourceType: 'Communication', searchParams: {} }));
    expect([noPatient.status, errorCode(noPatient.outcome)]).toEqual([400, 'BAD_REQUEST']);
    const undeclared = await refusal(
      c.search({
        resourceType: 'Communication',
        searchParams: { patient: fhirId(patientId), sent: 'ge2026-01-01' },
      }),
    );
    expect([undeclared.status, errorCode(undeclared.outcome)]).toEqual([400, 'BAD_REQUEST']);
    const deniedReads = () =>
      hub.pki.store.audit.list({ action: 'phi.read' }).filter((e) => e.outcome === 'denied').length;
    const before = deniedReads();
    const other = await refusal(
      client('dr.elsewhere').search({
        resourceType: 'Communication',
        searchParams: { patient: fhirId(patientId) },
      }),
    );
    expect(other.status).toBe(403);
    expect(JSON.stringify(other.outcome)).not.toMatch(/wombat|Seacole|cm-/);
    const read = await refusal(
      client('dr.elsewhere').read({ resourceType: 'Communication', id: filedIds[0]! }),
    );
    expect(read.status).toBe(403);
    expect(JSON.stringify(read.outcome)).not.toMatch(/wombat|Seacole/);
    // Both refusals are audited as denied PHI reads.
    expect(deniedReads() - before).toBe(2);
    const unknown = await refusal(c.read({ resourceType: 'Communication', id: 'cm-0000' }));
    expect(unknown.status).toBe(404);
  });
});
