// VG-FHIR-001..004, push to the EHR: each passes on a sound set-up and is broken on purpose.
// The EHR is a stand-in run by this test (an HTTPS FHIR server with a SMART token endpoint and a
// CA of its own; an EHR is what cannot run here), test/support/ehr-standin.ts.
import { chmodSync, writeFileSync } from 'node:fs';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type HubConfig } from '../../../core/config.js';
import { PushOutbox } from '../../../fhir/push-outbox.js';
import { toObservation } from '../../../fhir/observations.js';
import {
  ehrAuthorized,
  ehrNothingSetAside,
  ehrQueueMoving,
  ehrReachable,
} from '../../../hub/checks/fhir-push.js';
import { checkContext } from '../../support/checks.js';
import { EhrStandIn, standInTls } from '../../support/ehr-standin.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { writeFiles } from '../../support/openssl.js';

let pki: TestPki;
let ehr: EhrStandIn;
let tls: ReturnType<typeof standInTls>;
let files: Record<string, string>;
let patientId: string;
const CLIENT = 'vitalgate-hub-test';

beforeAll(async () => {
  pki = await createTestPki();
  patientId = addPatient(pki);
  tls = standInTls();
  const keys = await generateKeyPair('ES384', { extractable: true });
  const other = await generateKeyPair('ES384', { extractable: true });
  files = writeFiles({
    key: await exportPKCS8(keys.privateKey),
    otherKey: await exportPKCS8(other.privateKey),
    token: 'a-bearer-token\n',
  });
  chmodSync(files.key!, 0o600);
  chmodSync(files.otherKey!, 0o600);
  chmodSync(files.token!, 0o600);
  ehr = new EhrStandIn(tls, { smartClientId: CLIENT, smartPublicKeyPem: await exportSPKI(keys.publicKey) });
  await ehr.start();
});
afterAll(async () => {
  await ehr?.stop();
  pki?.cleanup();
});

function config(env: Record<string, string> = {}): HubConfig {
  return loadConfig({
    env: {
      VITALGATE_DATA_DIR: pki.dataDir,
      ...ehr.smartPushEnv(files.key!, tls.caFile),
      ...env,
    },
  });
}
const run = (check: typeof ehrReachable, c: HubConfig, now = Date.now()) =>
  check.run(checkContext(pki, { config: c, now }));
const off = () => loadConfig({ env: { VITALGATE_DATA_DIR: pki.dataDir } });

describe('VG-FHIR-001 the EHR answers over verified TLS', () => {
  it('passes against the EHR; fails when its CA is not trusted or it does not answer', async () => {
    expect(await run(ehrReachable, off())).toMatchObject({ status: 'not_applicable' });
    expect(await run(ehrReachable, config())).toMatchObject({ status: 'pass' });
    const untrusted = await run(ehrReachable, config({ VITALGATE_EHR_PUSH_CA_FILE: '' }));
    expect(untrusted.status).toBe('fail');
    expect(untrusted.evidence).toMatch(/not reachable over verified TLS: .*(VERIFY|CERT|SIGNATURE)/);
    const wrongPath = await run(
      ehrReachable,
      config({ VITALGATE_EHR_PUSH_URL: ehr.baseUrl.replace('/fhir', '/elsewhere') }),
    );
    expect(wrongPath).toMatchObject({ status: 'fail', evidence: expect.stringContaining('HTTP 404') });
  });
});

describe('VG-FHIR-002 the hub can authorize at the EHR', () => {
  it('passes with a registered key; fails with a key the EHR does not know; warns on a readable key file', async () => {
    expect(await run(ehrAuthorized, off())).toMatchObject({ status: 'not_applicable' });
    expect(await run(ehrAuthorized, config())).toMatchObject({ status: 'pass' });
    const issued = ehr.tokens.issued;
    const stranger = await run(ehrAuthorized, config({ VITALGATE_EHR_PUSH_KEY_FILE: files.otherKey! }));
    expect(stranger).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('EHR_TOKEN_REFUSED'),
    });
    expect(ehr.tokens.issued).toBe(issued);
    chmodSync(files.key!, 0o644);
    try {
      expect(await run(ehrAuthorized, config())).toMatchObject({
        status: 'warn',
        evidence: expect.stringContaining('can be read by other users'),
      });
    } finally {
      chmodSync(files.key!, 0o600);
    }
    const bearer = {
      VITALGATE_EHR_PUSH_TOKEN_URL: '',
      VITALGATE_EHR_PUSH_CLIENT_ID: '',
      VITALGATE_EHR_PUSH_KEY_FILE: '',
    };
    expect(
      await run(ehrAuthorized, config({ ...bearer, VITALGATE_EHR_PUSH_BEARER_TOKEN_FILE: files.token! })),
    ).toMatchObject({
      status: 'pass',
    });
    writeFileSync(files.token!, '\n');
    expect(
      await run(ehrAuthorized, config({ ...bearer, VITALGATE_EHR_PUSH_BEARER_TOKEN_FILE: files.token! })),
    ).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('EHR_TOKEN_EMPTY'),
    });
  });
});

describe('VG-FHIR-003 and VG-FHIR-004: the outbox', () => {
  it('fails when the oldest pending item is past the limit, and warns on set-aside items', async () => {
    const queuedAt = Date.parse('2026-12-01T10:00:00Z');
    const outbox = new PushOutbox(pki.store.db, pki.keyring, () => queuedAt);
    expect(await run(ehrQueueMoving, config(), queuedAt)).toMatchObject({ status: 'pass' });
    expect(await run(ehrNothingSetAside, config(), queuedAt)).toMatchObject({ status: 'pass' });
    const resource = toObservation(
      patientId,
      { ts: queuedAt, deviceId: 'wear-1', type: 'heart_rate', values: { value: 70 } },
      'fhir',
    )!;
    outbox.enqueue('ehr', [{ patientId, resource }]);
    expect(await run(ehrQueueMoving, config(), queuedAt + 30 * 60_000)).toMatchObject({ status: 'pass' });
    const stuck = await run(ehrQueueMoving, config(), queuedAt + 61 * 60_000);
    expect(stuck).toMatchObject({
      status: 'fail',
      evidence: '1 resources wait; the oldest for 61 minutes (limit 60)',
    });
    expect(await run(ehrQueueMoving, off(), queuedAt)).toMatchObject({ status: 'warn' });

    const [item] = outbox.nextBatch('ehr', 1)!.items;
    outbox.setAside('ehr', item!, 'HTTP 422: processing');
    const setAside = await run(ehrNothingSetAside, config(), queuedAt);
    expect(setAside).toMatchObject({
      status: 'warn',
      evidence: `1 resources set aside: #${item!.id} Observation (HTTP 422: processing)`,
    });
    expect(setAside.evidence).not.toContain(patientId);
    expect(await run(ehrQueueMoving, config(), queuedAt + 61 * 60_000)).toMatchObject({ status: 'pass' });
  });
});
