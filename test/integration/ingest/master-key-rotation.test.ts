// Readings stored in a real InfluxDB before a master key rotation that stopped midway and was
// resumed: every patient's readings open under the new key, with the same pseudonym tags, and
// the old key opens none of them. (The CLI, with kill -9, is test/e2e/rotate-master.test.ts.)
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../../core/keyring.js';
import { MasterKeyRotation } from '../../../core/master-key-rotation.js';
import { openReading, type StoredPoint } from '../../../ingest/sealing.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { testInflux, type TestInflux } from '../../support/influx.js';
import { envelope, hr, openTestPipeline, ownDataDir, spo2 } from './fixture.js';

let pki: TestPki;
let influx: TestInflux;
const patients: string[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  for (let i = 0; i < 5; i++) patients.push(addPatient(pki, `Patient ${i}`));
});
afterAll(async () => {
  await influx.drop();
  pki.cleanup();
});

async function storedOf(deviceId: string): Promise<StoredPoint[]> {
  const series = await influx.client.query(`SELECT * FROM telemetry WHERE d = '${deviceId}'`);
  return (series[0]?.rows ?? []) as unknown as StoredPoint[];
}

describe('readings in InfluxDB across a master key rotation', () => {
  it('open under the new key after a resumed rotation, same pseudonyms; the old key opens none', async () => {
    const { pipeline } = openTestPipeline(pki, influx, { dataDir: ownDataDir() });
    pipeline.start();
    const t0 = Date.now() - 120_000;
    for (const [i, patientId] of patients.entries()) {
      const device = { deviceId: `ox-rot-${i}`, kind: 'pulse_oximeter' as const, patientId };
      for (let seq = 1; seq <= 10; seq++) {
        const outcome = await pipeline.accept(
          device,
          envelope(seq, [spo2(90 + i), hr(60 + seq)], t0 + seq * 1000),
        );
        expect(outcome.outcome).toBe('accepted');
      }
    }
    expect(await pipeline.writer.drained()).toBe(true);
    await pipeline.stop();
    const before = await Promise.all(patients.map((_, i) => storedOf(`ox-rot-${i}`)));
    expect(before.map((points) => points.length)).toEqual(patients.map(() => 20));

    const oldKey = pki.masterKey.key;
    const newKey = randomBytes(32);
    const first = new MasterKeyRotation(pki.store.db, oldKey, newKey);
    first.begin();
    first.step(2); // stopped here, as by a crash; a new run resumes
    const second = new MasterKeyRotation(pki.store.db, oldKey, newKey);
    expect(second.begin().resumed).toBe(true);
    while (second.step(2) !== undefined);
    second.finish();

    const rotated = new Keyring(pki.store.db, newKey);
    const old = new Keyring(pki.store.db, oldKey);
    for (const [i, patientId] of patients.entries()) {
      const points = before[i]!;
      expect(new Set(points.map((p) => p.s))).toEqual(new Set([rotated.pseudonym(patientId)]));
      const spo2s = points
        .map((p) => openReading(rotated, patientId, p).reading)
        .filter((r) => r.type === 'spo2');
      expect(spo2s.map((r) => r.value)).toEqual(Array.from({ length: 10 }, () => 90 + i));
      expect(() => openReading(old, patientId, points[0]!)).toThrow(
        expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
      );
    }
  });
});
