// Push to the EHR, in process: readings ingested through the mutual-TLS broker into a real
// InfluxDB are collected from each patient's FHIR export into the outbox (SQLite) and sent as
// FHIR transactions over real HTTPS. The EHR is a stand-in run by this test (an EHR is the one
// thing that cannot run here): it validates everything it receives against the official FHIR R4
// JSON schema and honours conditional creates. The hub restarted with SIGKILL mid-push is
// test/e2e/ehr-push.test.ts.
import { Writable } from 'node:stream';
import type { MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { createLogger } from '../../../core/logger.js';
import { PatientErasure } from '../../../core/patient-erasure.js';
import { AlertRepository } from '../../../core/store/ingest-state.js';
import { toObservation } from '../../../fhir/observations.js';
import { StoreFhirRepository } from '../../../fhir/repository.js';
import { createEhrPush, type EhrPush } from '../../../hub/ehr-push.js';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { runCli } from '../../support/cli.js';
import { EhrStandIn, standInTls } from '../../support/ehr-standin.js';
import { addPatient, envelope } from '../../support/ingest.js';
import { writeFiles } from '../../support/openssl.js';
import { enrolledUser, startTestHub, type TestHub } from '../api/harness.js';

const TOKEN = 'ehr-bearer-token-for-the-test';
const t0 = Date.parse('2026-11-30T08:00:00.000Z');
let hub: TestHub;
let ehr: EhrStandIn;
let tls: ReturnType<typeof standInTls>;
let files: Record<string, string>;
let patientA: string;
let patientB: string;
let push: EhrPush;
let clock = t0 + 3_600_000;
let logs = '';
const devices: MqttClient[] = [];

function pushEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    VITALGATE_DATA_DIR: hub.pki.dataDir,
    VITALGATE_EHR_PUSH_URL: ehr.baseUrl,
    VITALGATE_EHR_PUSH_BEARER_TOKEN_FILE: files.token!,
    VITALGATE_EHR_PUSH_CA_FILE: tls.caFile,
    VITALGATE_EHR_PUSH_SETTLE_SECONDS: '0',
    VITALGATE_EHR_PUSH_BACKFILL_HOURS: '2',
    VITALGATE_EHR_PUSH_MAX_ATTEMPTS: '5',
    ...extra,
  };
}

function makePush(env: Record<string, string> = {}): EhrPush {
  const ctx = hub.api.apiContext;
  return createEhrPush({
    config: loadConfig({ env: pushEnv(env) }),
    store: hub.pki.store,
    keyring: hub.pki.keyring,
    repository: new StoreFhirRepository({
      patients: hub.pki.store.patients,
      demographics: ctx.patients,
      devices: hub.pki.store.devices,
      readings: ctx.telemetry,
    }),
    registry: new Registry(),
    logger: createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          logs += chunk.toString();
          done();
        },
      }),
    }),
    now: () => clock,
  })!;
}

/** Heart-rate Observations of patient A (as the export maps them), `n` from `start` on. */
function heartRates(n: number, start: number) {
  return Array.from({ length: n }, (_, i) => ({
    patientId: patientA,
    resource: toObservation(
      patientA,
      { ts: start + i * 1000, deviceId: 'push_wear-a', type: 'heart_rate', values: { value: 70 + i } },
      'fhir',
    )!,
  }));
}

beforeAll(async () => {
  hub = await startTestHub();
  tls = standInTls();
  files = writeFiles({ token: `${TOKEN}\n` });
  ehr = new EhrStandIn(tls, { bearer: TOKEN });
  await ehr.start();
  patientA = addPatient(hub.pki, 'Grace Hopper');
  patientB = addPatient(hub.pki, 'Alan Turing');
  const wear = await hub.pki.issueDevice('push_wear-a', 'wearable', { patientId: patientA });
  const cuff = await hub.pki.issueDevice('push-bp-a', 'bp_monitor', { patientId: patientA });
  const other = await hub.pki.issueDevice('push-wear-b', 'wearable', { patientId: patientB });
  const [w, b, o] = [
    await connectDevice(hub.brokerPort, wear, 'push_wear-a'),
    await connectDevice(hub.brokerPort, cuff, 'push-bp-a'),
    await connectDevice(hub.brokerPort, other, 'push-wear-b'),
  ];
  devices.push(w, b, o);
  for (let seq = 1; seq <= 5; seq++) {
    const hr = [{ type: 'heart_rate', value: 60 + seq, unit: '/min' }];
    await publishQos1(w, 'devices/push_wear-a/telemetry', envelope(seq, hr, t0 + seq * 60_000).toString());
  }
  for (let seq = 1; seq <= 2; seq++) {
    const bp = [{ type: 'blood_pressure', systolic: 120 + seq, diastolic: 80 + seq, unit: 'mm[Hg]' }];
    await publishQos1(b, 'devices/push-bp-a/telemetry', envelope(seq, bp, t0 + seq * 600_000).toString());
  }
  for (let seq = 1; seq <= 3; seq++) {
    const hr = [{ type: 'heart_rate', value: 90, unit: '/min' }];
    await publishQos1(o, 'devices/push-wear-b/telemetry', envelope(seq, hr, t0 + seq * 60_000).toString());
  }
  expect(await hub.pipeline.writer.drained()).toBe(true);
  push = makePush();
}, 120_000);

afterAll(async () => {
  for (const d of devices) await d.endAsync();
  await push?.stop();
  await ehr?.stop();
  await hub?.close();
});

describe('push to the EHR', () => {
  it('collects each patient’s export and the EHR stores it once, valid, with its Patient and Devices', async () => {
    expect(await push.collector.collect()).toBe(10); // A: 5 heart rates, 2 blood pressures; B: 3
    expect(await push.sender.drain()).toBe(10);
    expect(ehr.invalid).toEqual([]);
    const observations = ehr.ofType('Observation');
    expect(observations).toHaveLength(10);
    expect(ehr.ofType('Patient')).toHaveLength(2);
    expect(
      ehr
        .ofType('Device')
        .map((d) => d.identifier)
        .sort(),
    ).toEqual([
      'urn:vitalgate:device|push-bp-a',
      'urn:vitalgate:device|push-wear-b',
      'urn:vitalgate:device|push_wear-a',
    ]);
    // References point at the EHR's own Patient and Device ids, resolved from the transaction.
    const patientOf = new Map(ehr.ofType('Patient').map((p) => [`Patient/${p.id}`, p.identifier]));
    for (const o of observations) {
      const subject = (o.resource.subject as { reference: string }).reference;
      expect(patientOf.get(subject)).toMatch(/^urn:vitalgate:patient\|pat_/);
      expect((o.resource.device as { reference: string }).reference).toMatch(/^Device\/[0-9a-f]{16}$/);
    }
    const bp = observations.find((o) => 'component' in o.resource)!;
    expect(bp.resource.component).toHaveLength(2);
    // Pseudonymous by default: no name, birth date or MRN reached the EHR.
    expect(JSON.stringify(ehr.ofType('Patient'))).not.toMatch(/Grace|Turing|birthDate/);
    // In order per patient: A's Observations were stored oldest first.
    const aTimes = observations
      .filter((o) =>
        patientOf.get((o.resource.subject as { reference: string }).reference)!.endsWith(patientA),
      )
      .map((o) => Date.parse(String(o.resource.effectiveDateTime)));
    expect(aTimes).toEqual([...aTimes].sort((x, y) => x - y));
    // Collected up to the clock: collecting again queues nothing; queuing again neither.
    expect(await push.collector.collect()).toBe(0);
    expect(push.outbox.stats('ehr')).toEqual({ pending: 0, dead: 0, oldestPendingAt: null });
    const audited = hub.pki.store.audit.list({ action: 'fhir.push' });
    expect(audited.map((a) => a.target).sort()).toEqual(
      [`patient:${patientA}`, `patient:${patientB}`].sort(),
    );
  });

  it('pushes an alert as a Flag: active once raised, the same Flag inactive once it clears', async () => {
    const alerts = new AlertRepository(hub.pki.store.db, () => clock);
    clock += 60_000;
    const alert = alerts.raise({
      patientId: patientA,
      deviceId: 'push_wear-a',
      rule: 'spo2_low',
      severity: 'critical',
    });
    const raisedAt = new Date(clock).toISOString();
    clock += 60_000;
    await push.collector.collect();
    await push.sender.drain();
    let flags = ehr.ofType('Flag');
    expect(flags).toHaveLength(1);
    expect(flags[0]!.identifier).toBe(`urn:vitalgate:alert|${alert.id}`);
    expect(flags[0]!.resource).toMatchObject({ status: 'active', period: { start: raisedAt } });
    expect((flags[0]!.resource.author as { reference: string }).reference).toMatch(/^Device\/[0-9a-f]{16}$/);
    clock += 60_000;
    alerts.clear(alert.id);
    const clearedAt = new Date(clock).toISOString();
    clock += 60_000;
    await push.collector.collect();
    await push.sender.drain();
    flags = ehr.ofType('Flag');
    expect(flags).toHaveLength(1); // the same Flag, updated (a conditional update by identifier)
    expect(flags[0]!.resource).toMatchObject({
      status: 'inactive',
      period: { start: raisedAt, end: clearedAt },
    });
    expect(ehr.invalid).toEqual([]);
  });

  it('sets aside what the EHR refuses (422) with its OperationOutcome, raises an event, and the rest go on', async () => {
    const before = ehr.ofType('Observation').length;
    const items = heartRates(5, t0 + 7_200_000);
    const refused = items[2]!.resource.id as string;
    ehr.refuse.add(refused);
    expect(push.outbox.enqueue('ehr', items)).toBe(5);
    await push.sender.drain();
    const stored = ehr.ofType('Observation').slice(before);
    expect(stored.map((s) => s.identifier.split('|')[1])).toEqual(
      items.filter((_, i) => i !== 2).map((i) => i.resource.id),
    );
    const [dead] = push.outbox.deadLetters('ehr');
    expect(dead).toMatchObject({
      resourceType: 'Observation',
      identifier: `urn:vitalgate:observation|${refused}`,
    });
    expect(dead!.error).toBe('HTTP 422: processing');
    expect(push.outbox.outcomeOf(dead!.id)).toMatchObject({ resourceType: 'OperationOutcome' });
    const events = hub.pki.store.securityEvents.list({ kind: 'fhir.push.set_aside' });
    expect(events).toHaveLength(1);
    expect(events[0]!.details).toMatchObject({
      item: dead!.id,
      reason: 'refused',
      error: 'HTTP 422: processing',
    });

    // The operator's view, through the CLI and the API, shows it without clinical content.
    const cli = await runCli(['fhir-push', 'status', '--json'], pushEnv());
    expect(cli.code, cli.stderr).toBe(0);
    const status = JSON.parse(cli.stdout) as {
      enabled: boolean;
      setAside: number;
      setAsideItems: { id: number }[];
    };
    expect(status).toMatchObject({ enabled: true, pending: 0, setAside: 1 });
    expect(status.setAsideItems.map((d) => d.id)).toEqual([dead!.id]);
    expect(cli.stdout).not.toMatch(/valueQuantity|Grace/);
    const admin = await enrolledUser(hub, 'push.admin', 'admin');
    const api = await hub.extraServer({ config: loadConfig({ env: pushEnv() }) });
    const view = await api.client.request('GET', '/api/v1/fhir-push', { token: admin.token });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      enabled: true,
      setAside: 1,
      destination: { name: 'ehr', baseUrl: ehr.baseUrl },
    });
    const missing = await api.client.request('POST', '/api/v1/fhir-push/set-aside/999999/retry', {
      token: admin.token,
    });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'NOT_FOUND' } });

    // Fixed at the EHR, retried by the operator: it is stored, once.
    ehr.refuse.clear();
    const retried = await api.client.request('POST', `/api/v1/fhir-push/set-aside/${dead!.id}/retry`, {
      token: admin.token,
    });
    expect(retried.body).toEqual({ requeued: 1 });
    expect(await push.sender.drain()).toBe(1);
    expect(ehr.ofType('Observation').filter((o) => o.identifier.endsWith(refused))).toHaveLength(1);
    expect(push.outbox.deadLetters('ehr')).toEqual([]);
  });

  it('keeps items through an outage, retries with backoff, and sends them when the EHR is back', async () => {
    const before = ehr.ofType('Observation').length;
    const items = heartRates(3, t0 + 9_000_000);
    push.outbox.enqueue('ehr', items);
    ehr.outageRequests = 3;
    const queuedAt = clock;
    expect(await push.sender.drain()).toBe(0); // one try, then it waits
    expect(push.outbox.stats('ehr')).toEqual({ pending: 3, dead: 0, oldestPendingAt: queuedAt });
    expect(await push.sender.drain()).toBe(0); // not due again yet: nothing is sent
    expect(ehr.transactions).toBeGreaterThan(0);
    const tries = ehr.transactions;
    expect(await push.sender.drain()).toBe(0);
    expect(ehr.transactions).toBe(tries);
    for (let i = 0; i < 3; i++) {
      clock += 60_000; // past any backoff of the first tries
      await push.sender.drain();
    }
    expect(
      ehr
        .ofType('Observation')
        .slice(before)
        .map((o) => o.identifier.split('|')[1]),
    ).toEqual(items.map((i) => i.resource.id));
    expect(push.outbox.stats('ehr').pending).toBe(0);
    expect(logs).toContain('HTTP 503');
  });

  it('refuses an EHR whose certificate does not chain to the configured CA: nothing is sent', async () => {
    const untrusting = makePush({ VITALGATE_EHR_PUSH_CA_FILE: '' });
    try {
      const transactions = ehr.transactions;
      untrusting.outbox.enqueue('ehr', heartRates(1, t0 + 10_000_000));
      expect(await untrusting.sender.drain()).toBe(0);
      expect(ehr.transactions).toBe(transactions);
      const row = hub.pki.store.db
        .prepare(`SELECT attempts, last_error FROM fhir_push_items WHERE state = 'pending'`)
        .get() as { attempts: number; last_error: string };
      expect(row).toEqual({ attempts: 1, last_error: expect.stringMatching(/CERT|VERIFY|SIGNATURE/) });
      clock += 60_000;
      expect(await push.sender.drain()).toBe(1); // the trusting sender delivers it
    } finally {
      await untrusting.stop();
    }
  });

  it('destroys the pending items of a patient who is erased', async () => {
    const items = [0, 1].map((i) => ({
      patientId: patientB,
      resource: toObservation(
        patientB,
        { ts: t0 + 11_000_000 + i, deviceId: 'push-wear-b', type: 'heart_rate', values: { value: 80 } },
        'fhir',
      )!,
    }));
    ehr.outageRequests = 1;
    push.outbox.enqueue('ehr', items);
    await push.sender.drain();
    expect(push.outbox.stats('ehr').pending).toBe(2);
    new PatientErasure(hub.pki.store, hub.pki.keyring).erase(
      { patientId: patientB, confirm: patientB, reason: 'withdrew consent' },
      'test',
    );
    clock += 60_000;
    const transactions = ehr.transactions;
    expect(await push.sender.drain()).toBe(0);
    expect(ehr.transactions).toBe(transactions);
    expect(
      hub.pki.store.db
        .prepare('SELECT COUNT(*) AS n FROM fhir_push_items WHERE patient_id = ?')
        .get(patientB),
    ).toEqual({ n: 0 });
    expect(hub.pki.store.audit.list({ action: 'fhir.push.destroy' })).toHaveLength(1);
  });

  it('logs no PHI: no names, values or patient ids', () => {
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toMatch(/Grace|Turing|pat_|valueQuantity|"value"/);
  });
});
