// Push to the EHR across an EHR outage and a hub killed with SIGKILL: 1,000 Observations and 20
// filed Communications of two patients, queued in the outbox of a real `vitalgate start`
// process, each arrive exactly once (by the hub's identifier), in order per patient, and the one
// the EHR refuses (422) is set aside while the rest go on. The EHR is a stand-in run by this test
// (an EHR is the one thing that cannot run here): an HTTPS FHIR server with a CA of its own and
// a SMART Backend Services token endpoint, which validates everything it receives against the
// official FHIR R4 JSON schema. The outage is counted in refused transactions, not seconds.
// The first hub's first transaction waits unanswered until the hub is ready (a slow EHR).
import { chmodSync } from 'node:fs';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toCommunication } from '../../fhir/communication.js';
import { toObservation } from '../../fhir/observations.js';
import { PushOutbox, hubIdentifier, type QueuedResource } from '../../fhir/push-outbox.js';
import { runCli } from '../support/cli.js';
import { EhrStandIn, standInTls } from '../support/ehr-standin.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';
import { addPatient } from '../support/ingest.js';
import { writeFiles } from '../support/openssl.js';

const CLIENT = 'vitalgate-e2e';
const t0 = Date.parse('2026-12-05T08:00:00.000Z');
let pki: TestPki;
let ehr: EhrStandIn;
let hub: HubProcess | undefined;
let env: Record<string, string>;
const queued = new Map<string, string[]>(); // patient -> identifiers in the order queued
let refused = '';

function resourcesOf(patientId: string, deviceId: string): QueuedResource[] {
  const observation = (i: number) =>
    toObservation(
      patientId,
      { ts: t0 + i * 1000, deviceId, type: 'heart_rate', values: { value: 60 + (i % 40) } },
      'fhir',
    )!;
  const communication = (i: number) =>
    toCommunication({
      id: `filed-${deviceId}-${i}`,
      patientId,
      conversationId: `conv-${deviceId}`,
      filedBy: 'dr.e2e',
      filedAt: t0 + 300_000 + i,
      messages: [
        {
          id: i,
          sender: 'dr.e2e',
          sentAt: t0 + 300_000 + i,
          priority: 'normal',
          body: 'Rate rising since 3 am',
          ref: null,
        },
      ],
    });
  const list = [
    ...Array.from({ length: 250 }, (_, i) => observation(i)),
    ...Array.from({ length: 10 }, (_, i) => communication(i)),
    ...Array.from({ length: 250 }, (_, i) => observation(250 + i)),
  ];
  return list.map((resource) => ({ patientId, resource }));
}

beforeAll(async () => {
  pki = await createTestPki();
  const tls = standInTls();
  const keys = await generateKeyPair('ES384', { extractable: true });
  const files = writeFiles({ key: await exportPKCS8(keys.privateKey) });
  chmodSync(files.key!, 0o600);
  ehr = new EhrStandIn(tls, { smartClientId: CLIENT, smartPublicKeyPem: await exportSPKI(keys.publicKey) });
  await ehr.start();
  const outbox = new PushOutbox(pki.store.db, pki.keyring);
  for (const [name, device] of [
    ['Ada Lovelace', 'wear-e2e-1'],
    ['Edsger Dijkstra', 'wear-e2e-2'],
  ] as const) {
    const patientId = addPatient(pki, name);
    pki.store.devices.add({ id: device, kind: 'wearable', patientId });
    const resources = resourcesOf(patientId, device);
    expect(outbox.enqueue('ehr', resources)).toBe(510);
    queued.set(
      patientId,
      resources.map((r) => hubIdentifier(r.resource)),
    );
  }
  refused = [...queued.values()][1]![400]!.split('|')[1]!;
  env = {
    VITALGATE_DATA_DIR: pki.dataDir,
    ...ehr.smartPushEnv(files.key!, tls.caFile),
    VITALGATE_EHR_PUSH_RETRY_BASE_MS: '20',
    VITALGATE_CHECKS_INTERVAL_MINUTES: '0',
  };
}, 60_000);

afterAll(async () => {
  await hub?.stop();
  await ehr?.stop();
  pki?.cleanup();
});

describe('push to the EHR across an outage and a SIGKILL', () => {
  it('delivers every resource exactly once, in order per patient, and sets aside the refused one', async () => {
    // The EHR holds transactions unanswered until the hub is ready (so the kill below has a
    // process to kill), then is down for a few.
    ehr.hold();
    ehr.refuse.add(refused);
    let killed: Promise<unknown> | undefined;
    // Killed once 400 resources are stored and before the EHR answers that transaction: its
    // items are still pending in the outbox, and are sent again after the restart.
    ehr.afterStore = (stored) => {
      if (stored >= 400 && !killed && hub) {
        const child = hub.child;
        killed = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
      }
    };
    hub = await startHubProcess(env);
    ehr.outageRequests = 3;
    ehr.release();
    await ehr.waitFor(() => killed !== undefined);
    await killed;
    hub = await startHubProcess(env);
    const delivered = () => ehr.ofType('Observation').length + ehr.ofType('Communication').length;
    await ehr.waitFor(() => delivered() === 1019);

    expect(ehr.invalid).toEqual([]);
    expect(ehr.againAlreadyStored).toBeGreaterThan(0); // sent twice across the kill, stored once
    expect(ehr.tokens.issued).toBeGreaterThanOrEqual(2); // a token per hub process (SMART)
    const stored = [...ehr.ofType('Observation'), ...ehr.ofType('Communication')];
    expect(new Set(stored.map((s) => s.identifier)).size).toBe(stored.length);
    // In order per patient: what each patient's Patient received is what was queued, less the refused one.
    const patientOf = new Map(
      ehr.ofType('Patient').map((p) => [`Patient/${p.id}`, p.identifier.split('|')[1]!]),
    );
    for (const [patientId, identifiers] of queued) {
      const arrived = ehr.stored
        .filter((s) => s.resourceType === 'Observation' || s.resourceType === 'Communication')
        .filter((s) => patientOf.get((s.resource.subject as { reference: string }).reference) === patientId)
        .map((s) => s.identifier);
      expect(arrived).toEqual(identifiers.filter((id) => !id.endsWith(`|${refused}`)));
    }

    const status = await runCli(['fhir-push', 'status', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      enabled: true,
      pending: 0,
      setAside: 1,
      setAsideItems: [
        {
          resourceType: 'Observation',
          identifier: `urn:vitalgate:observation|${refused}`,
          error: 'HTTP 422: processing',
        },
      ],
    });
    // No PHI in what the hub logged: names, readings or message text.
    expect(hub.stderr()).not.toMatch(/Lovelace|Dijkstra|Rate rising|valueQuantity/);
  }, 240_000);
});
