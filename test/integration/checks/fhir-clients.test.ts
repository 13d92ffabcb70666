// VG-API-011: FHIR system clients with a wildcard scope or keys older than a year warn; narrow,
// recent ones pass, and so does a hub with none.
import { exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirClientRepository } from '../../../fhir/smart-clients.js';
import { fhirClientsNarrow } from '../../../hub/checks/fhir-clients.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
let clock: number;
let key: string;
beforeAll(async () => {
  pki = await createTestPki();
  clock = Date.now();
  key = await exportSPKI((await generateKeyPair('ES384', { extractable: true })).publicKey);
});
afterAll(() => pki.cleanup());

const run = () => fhirClientsNarrow.run(checkContext(pki, { now: clock }));
const clients = () => new FhirClientRepository(pki.store.db, pki.store.audit, () => clock);

describe('VG-API-011 FHIR system clients', () => {
  it('passes with no clients and with narrow, recent ones; warns on wildcards and old keys', async () => {
    expect(await run()).toMatchObject({ status: 'pass', evidence: 'no FHIR system clients are registered' });
    await clients().register({ name: 'EHR', publicKeys: key, scopes: ['system/Observation.rs'] }, 'test');
    expect((await run()).status).toBe('pass');
    const wide = await clients().register(
      { name: 'Research', publicKeys: key, scopes: ['system/*.rs'] },
      'test',
    );
    const outcome = await run();
    expect(outcome.status).toBe('warn');
    expect(outcome.evidence).toContain(`wildcard scopes: ${wide.id} (Research)`);
    expect(outcome.evidence).not.toContain('older');
    clock += 366 * 86_400_000;
    expect((await run()).evidence).toMatch(/keys older than 365 days: .*EHR/);
  });
});
