// Spool records written before replay windows (`VG1`, no enrollment) count in the window of the
// device's current enrollment when a pipeline recovers its dedupe state: an acknowledged message
// spooled by the previous version is still a duplicate when the device resends it. Nothing is
// written to InfluxDB here (the writer is never started), so no InfluxDB is needed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seqWindowKey } from '../../../core/store/ingest-state.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';
import { addPatient, envelope, openPipeline } from '../../support/ingest.js';

let pki: TestPki;
let device: DeviceCredentials;
const UNREACHABLE = { url: 'http://127.0.0.1:9', database: 'unused' };

beforeAll(async () => {
  pki = await createTestPki();
  device = await pki.issueDevice('ox-legacy', 'pulse_oximeter', { patientId: addPatient(pki) });
});
afterAll(() => pki?.cleanup());

describe('a spool from before replay windows', () => {
  it('puts its records in the window of the device’s current enrollment', async () => {
    const first = openPipeline(pki, UNREACHABLE).pipeline;
    await first.spool.append(Buffer.from('VG1 ox-legacy 9 1\ntelemetry,d=ox-legacy c="x" 1', 'utf8'));
    await first.stop();

    const { pipeline } = openPipeline(pki, UNREACHABLE);
    try {
      expect(pipeline.ledger.lastSeq(seqWindowKey('ox-legacy', device.serial))).toBe(9);
      const sender = {
        deviceId: 'ox-legacy',
        kind: 'pulse_oximeter' as const,
        patientId: pki.store.devices.get('ox-legacy')!.patientId,
        enrollment: device.serial,
      };
      const spo2 = { type: 'spo2', value: 97, unit: '%' };
      expect(await pipeline.accept(sender, envelope(9, [spo2], Date.now() - 1_000))).toEqual({
        outcome: 'duplicate',
        reason: 'DUPLICATE',
      });
      expect(await pipeline.accept(sender, envelope(10, [spo2], Date.now() - 1_000))).toEqual({
        outcome: 'accepted',
      });
    } finally {
      await pipeline.stop();
    }
  });
});
