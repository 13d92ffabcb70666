// Patient erasure end to end, against `vitalgate start` as an operator runs it: two patients with a
// simulated device each stream readings (a closed minute rollup each) and one impossible reading
// (a dead letter each). An admin erases one through POST /patients/{id}/erase: afterwards every
// reading, rollup, dead letter and the demographics of that patient stay in storage as ciphertext
// but no longer open, the patient's device is unbound and its session ended, while the other
// patient reads as before. A refused erasure (wrong confirmation) changes nothing. The CLI's
// `patient erase` goes through the same hub.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { Keyring } from '../../core/keyring.js';
import { PatientRegistry, patientKeySubject } from '../../core/patient-registry.js';
import { InfluxTelemetryReader } from '../../dashboard-api/telemetry/influx-reader.js';
import { deadLetterAad } from '../../ingest/intake.js';
import { ROLLUP_MEASUREMENT, rollupsSince } from '../../ingest/rollup-sealing.js';
import { pseudonymFor } from '../../ingest/sealing.js';
import { DeviceClient } from '../../simulators/device-client.js';
import { HttpsEnrollment } from '../../simulators/enrollment-transport.js';
import { HubApi } from '../../simulators/hub-api.js';
import { oximetry, tempDir, until } from '../integration/simulators/harness.js';
import { runCli } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { firstAdminLogin } from '../support/operator.js';

let pki: TestPki;
let hub: HubProcess;
let root: { dir: string; cleanup(): void };
let influx: InfluxClient;
let token = '';
const devices: DeviceClient[] = [];
const patients: Record<'erased' | 'kept', string> = { erased: '', kept: '' };
const minute = Math.floor((Date.now() - 3 * 60_000) / 60_000) * 60_000;
const range = { from: minute - 60_000, to: Date.now() + 60_000 };

const api = () =>
  new HubApi({ baseUrl: `https://localhost:${hub.ready.apiPort}`, ca: pki.authority.caBundlePem() });

/** A keyring with no cached keys: what anyone holding the data dir and master key can open. */
const freshKeyring = () => new Keyring(pki.store.db, pki.masterKey.key);

function reader(keyring: Keyring): InfluxTelemetryReader {
  return new InfluxTelemetryReader(influx, keyring, {
    rollupsSince: () => rollupsSince(pki.store.meta),
    worker: false,
  });
}

async function count(measurement: string, patientId: string): Promise<number> {
  const s = pseudonymFor(pki.keyring, patientId);
  const series = await influx.query(`SELECT count(c) FROM ${measurement} WHERE s = '${s}'`);
  return Number(series[0]?.rows[0]?.count ?? 0);
}

/** Everything stored of a patient, opened with a fresh keyring (throws when it does not open). */
async function readAll(patientId: string, deviceId: string) {
  const keyring = freshKeyring();
  const telemetry = reader(keyring);
  const query = { patientId, ...range };
  const points = await telemetry.read(query);
  const stats = await telemetry.readMinuteStats({
    patientId,
    from: minute,
    to: minute + 60_000 - 1,
  });
  const deadLetters = pki.store.deadLetters
    .list({ deviceId })
    .map((d) =>
      keyring.open(d.keySubject, d.keyVersion, d.sealedPayload, deadLetterAad(d.deviceId, d.receivedAt)),
    );
  const demographics = new PatientRegistry(pki.store.patients, keyring, pki.store.audit);
  const record = pki.store.patients.require(patientId);
  const sealedDemographics = keyring.open(
    patientKeySubject(patientId),
    record.keyVersion,
    record.sealedDemographics,
    `${patientId}:demographics`,
  );
  return { points, stats, deadLetters, sealedDemographics, name: () => demographics.get(patientId).name };
}

beforeAll(async () => {
  pki = await createTestPki();
  root = tempDir('vg-erase-');
  hub = await startHubProcess({ VITALGATE_DATA_DIR: pki.dataDir });
  influx = new InfluxClient({ url: hub.ready.influxUrl, database: 'vitalgate' });
  token = await firstAdminLogin(api(), pki.dataDir, 'erase.admin', 'admin', { stepUp: true });
  const registry = new PatientRegistry(pki.store.patients, pki.keyring, pki.store.audit);
  for (const which of ['erased', 'kept'] as const) {
    patients[which] = registry.add({ name: `Patient ${which}`, birthDate: '1950-05-05' }, 'test').id;
    const deviceId = `ox-${which}`;
    await runCli(
      ['device', 'add', '--id', deviceId, '--kind', 'pulse_oximeter', '--patient', patients[which]],
      {
        VITALGATE_DATA_DIR: pki.dataDir,
      },
    );
    const device = await DeviceClient.open({
      deviceId,
      kind: 'pulse_oximeter',
      dir: join(root.dir, deviceId),
      enrollment: new HttpsEnrollment(api()),
      token: pki.tokens.issue(deviceId, 3_600_000, 'test').token,
      broker: { host: '127.0.0.1', port: hub.ready.mqttPort },
      backoff: { initialMs: 100, maxMs: 500, floorMs: 50 },
    });
    devices.push(device);
    const up = new Promise<void>((resolve) => device.once('online', () => resolve()));
    device.start();
    await up;
    device.record(oximetry(97, 70), minute + 1_000);
    device.record([{ type: 'spo2', value: 150, unit: '%' }], minute + 2_000); // impossible: a dead letter
    device.record(oximetry(96, 72), minute + 61_000); // closes the first minute's rollup
    expect(await device.drain(10_000)).toBe(true);
  }
  await until(() => pki.store.deadLetters.list({ deviceId: 'ox-kept' }).length === 1, 10_000, 'dead letters');
  // Stored: the four readings of each patient, and the sealed (closed) rollup of the first minute.
  for (const which of ['erased', 'kept'] as const) {
    const stored = async () => [
      await count('telemetry', patients[which]),
      await count(ROLLUP_MEASUREMENT, patients[which]),
    ];
    let counts = await stored();
    for (let i = 0; i < 100 && (counts[0]! < 4 || counts[1]! < 1); i++) {
      await new Promise((r) => setTimeout(r, 100));
      counts = await stored();
    }
    expect(counts[0]).toBe(4);
    expect(counts[1]).toBeGreaterThan(0);
  }
}, 120_000);

afterAll(async () => {
  for (const device of devices) await device.stop();
  await hub?.stop();
  pki?.cleanup();
  root?.cleanup();
});

describe('POST /api/v1/patients/{id}/erase', () => {
  it('before: both patients read in full', async () => {
    for (const which of ['erased', 'kept'] as const) {
      const all = await readAll(patients[which], `ox-${which}`);
      expect(all.points.map((p) => p.values.value).sort()).toEqual([70, 72, 96, 97]);
      expect(all.stats.get('spo2')?.get(minute)).toMatchObject({ count: 1 });
      expect(all.deadLetters).toHaveLength(1);
      expect(all.name()).toBe(`Patient ${which}`);
      expect(await count(ROLLUP_MEASUREMENT, patients[which])).toBeGreaterThan(0);
    }
  });

  it('refuses without the patient id repeated, and changes nothing', async () => {
    const refused = await api().send('POST', `/api/v1/patients/${patients.erased}/erase`, {
      token,
      body: { reason: 'patient asked to be forgotten', confirm: patients.kept },
    });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { code: 'CONFIRMATION_MISMATCH' } });
    expect(pki.store.patients.require(patients.erased).erasedAt).toBeNull();
    expect(pki.store.audit.list({ action: 'patient.erase' })).toHaveLength(0);
    expect((await readAll(patients.erased, 'ox-erased')).name()).toBe('Patient erased');
  });

  it('erases one patient: nothing of theirs opens, the device is unbound and its session ended; the other is untouched', async () => {
    const erasedDevice = devices[0]!;
    const offline = new Promise<void>((resolve) => erasedDevice.once('offline', () => resolve()));
    const result = await api().json('POST', `/api/v1/patients/${patients.erased}/erase`, {
      token,
      body: { reason: 'patient asked to be forgotten', confirm: patients.erased },
    });
    expect(result).toMatchObject({ patientId: patients.erased, unboundDevices: ['ox-erased'] });
    await offline;
    expect(pki.store.devices.require('ox-erased').patientId).toBeNull();
    expect(
      pki.store.audit.list({ action: 'patient.erase', target: `patient:${patients.erased}` })[0],
    ).toMatchObject({
      actor: 'user:erase.admin',
      details: { reason: 'patient asked to be forgotten' },
    });

    // The ciphertexts are still stored, and none of them opens.
    expect(await count('telemetry', patients.erased)).toBe(4);
    expect(await count(ROLLUP_MEASUREMENT, patients.erased)).toBeGreaterThan(0);
    expect(pki.store.deadLetters.list({ deviceId: 'ox-erased' })).toHaveLength(1);
    await expect(readAll(patients.erased, 'ox-erased')).rejects.toMatchObject({ code: 'KEY_DESTROYED' });
    const keyring = freshKeyring();
    const telemetry = reader(keyring);
    await expect(telemetry.read({ patientId: patients.erased, ...range })).rejects.toMatchObject({
      code: 'KEY_DESTROYED',
    });
    await expect(
      telemetry.readMinuteStats({ patientId: patients.erased, from: minute, to: minute + 59_999 }),
    ).rejects.toMatchObject({ code: 'KEY_DESTROYED' });
    const [letter] = pki.store.deadLetters.list({ deviceId: 'ox-erased' });
    expect(() =>
      keyring.open(
        letter!.keySubject,
        letter!.keyVersion,
        letter!.sealedPayload,
        deadLetterAad('ox-erased', letter!.receivedAt),
      ),
    ).toThrow(expect.objectContaining({ code: 'KEY_DESTROYED' }));
    expect(() =>
      new PatientRegistry(pki.store.patients, keyring, pki.store.audit).get(patients.erased),
    ).toThrow(expect.objectContaining({ code: 'PATIENT_ERASED' }));
    const listed = await api().json<{ id: string }[]>('GET', '/api/v1/patients', { token });
    expect(listed.map((p) => p.id)).toEqual([patients.kept]);

    const kept = await readAll(patients.kept, 'ox-kept');
    expect(kept.points).toHaveLength(4);
    expect(kept.stats.get('spo2')?.get(minute)).toMatchObject({ count: 1 });
    expect(kept.deadLetters).toHaveLength(1);
    expect(kept.name()).toBe('Patient kept');
    expect(pki.store.devices.require('ox-kept').patientId).toBe(patients.kept);

    const again = await api().send('POST', `/api/v1/patients/${patients.erased}/erase`, {
      token,
      body: { reason: 'patient asked to be forgotten', confirm: patients.erased },
    });
    expect(again.status).toBe(410);
  }, 30_000);

  it('is admin-only: no session, or an engineer (who manages devices), erases nothing', async () => {
    const body = { reason: 'not allowed to', confirm: patients.kept };
    const path = `/api/v1/patients/${patients.kept}/erase`;
    expect((await api().send('POST', path, { body })).status).toBe(401);
    const engineer = await firstAdminLogin(api(), pki.dataDir, 'erase.engineer', 'engineer');
    const refused = await api().send('POST', path, { token: engineer, body });
    expect(refused.status).toBe(403);
    expect(pki.store.patients.require(patients.kept).erasedAt).toBeNull();
    expect(
      pki.store.audit.list({ action: 'patient.erase', target: `patient:${patients.kept}` }),
    ).toHaveLength(0);
    expect((await readAll(patients.kept, 'ox-kept')).name()).toBe('Patient kept');
  }, 30_000);
});

describe('vitalgate patient erase', () => {
  it('goes through the running hub, audited as the CLI user', async () => {
    const { id } = new PatientRegistry(pki.store.patients, pki.keyring, pki.store.audit).add(
      { name: 'Third Person', birthDate: '1980-01-01' },
      'test',
    );
    const env = { VITALGATE_DATA_DIR: pki.dataDir };
    const missing = await runCli(['patient', 'erase', id, '--reason', 'asked'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--confirm is required');
    const result = await runCli(
      ['patient', 'erase', id, '--reason', 'asked to be forgotten', '--confirm', id, '--json'],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ patientId: id, unboundDevices: [] });
    expect(pki.store.audit.list({ action: 'patient.erase', target: `patient:${id}` })[0]?.actor).toMatch(
      /^cli:/,
    );
    expect(freshKeyring().isShredded(patientKeySubject(id))).toBe(true);
  }, 30_000);
});
