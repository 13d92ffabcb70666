// Invalid messages against a real InfluxDB and store: each is a dead letter with its coded reason,
// its payload sealed under the patient's key, counted per reason (metrics) and per device (store),
// acknowledged, and none of it reaches InfluxDB.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientKeySubject } from '../../../core/patient-registry.js';
import { openDeadLetter } from '../../../ingest/intake.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { testInflux, type TestInflux } from '../../support/influx.js';
import { countPoints, envelope, openTestPipeline, ownDataDir, spo2 } from './fixture.js';

let pki: TestPki;
let influx: TestInflux;
let patientId: string;

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  patientId = addPatient(pki);
});
afterAll(async () => {
  await influx.drop();
  pki.cleanup();
});

describe('invalid payloads', () => {
  it('each becomes a counted dead letter with its reason, and none reaches InfluxDB', async () => {
    const { pipeline, client, registry } = openTestPipeline(pki, influx, { dataDir: ownDataDir() });
    pipeline.start();
    pki.store.devices.add({ id: 'ox-bad', kind: 'pulse_oximeter', patientId });
    const device = { deviceId: 'ox-bad', kind: 'pulse_oximeter' as const, patientId };
    const now = Date.now();
    const cases: [Buffer, string][] = [
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), 'MALFORMED_JSON'],
      [Buffer.from('{"v":1,"seq":"one","ts":1,"readings":[]}'), 'SCHEMA_INVALID'],
      [
        Buffer.from(`{"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":1e999,"unit":"%"}]}`),
        'SCHEMA_INVALID',
      ],
      [envelope(2, [{ type: 'mood', value: 3, unit: '1' }], now), 'UNKNOWN_READING_TYPE'],
      [envelope(3, [{ type: 'blood_glucose', value: 90, unit: 'mg/dL' }], now), 'TYPE_NOT_ALLOWED_FOR_KIND'],
      [envelope(4, [{ type: 'spo2', value: 97, unit: 'percent' }], now), 'UNIT_MISMATCH'],
      [envelope(5, [spo2(140)], now), 'VALUE_OUT_OF_RANGE'],
      [envelope(6, [spo2(97)], now + 3_600_000), 'CLOCK_SKEW'],
      [envelope(7, [spo2(97)], now - 40 * 86_400_000), 'TIMESTAMP_TOO_OLD'],
      [
        envelope(
          8,
          Array.from({ length: 501 }, () => spo2(97)),
          now,
        ),
        'TOO_MANY_READINGS',
      ],
      [
        Buffer.from(JSON.stringify({ v: 1, seq: 9, ts: now, readings: [spo2(97)], pad: 'x'.repeat(70_000) })),
        'PAYLOAD_TOO_LARGE',
      ],
    ];
    for (const [payload, reason] of cases) {
      expect(await pipeline.accept(device, payload), reason).toEqual({ outcome: 'dead_letter', reason });
    }
    // Invalid messages do not advance the seq: a valid one with a low seq is still new.
    expect(await pipeline.accept(device, envelope(2, [spo2(96)], now))).toEqual({ outcome: 'accepted' });
    expect(await pipeline.accept(device, envelope(1, [spo2(96)], now))).toEqual({
      outcome: 'duplicate',
      reason: 'REPLAY',
    });
    expect(await pipeline.writer.drained()).toBe(true);
    expect(await countPoints(client, "WHERE d = 'ox-bad'")).toBe(1);

    const letters = pki.store.deadLetters.list({ deviceId: 'ox-bad' });
    // The replay is a dead letter too: acknowledged, not stored as readings, and not lost.
    expect(letters.map((l) => l.reason).sort()).toEqual([...cases.map(([, r]) => r), 'REPLAY'].sort());
    expect(pki.store.deadLetters.countByDevice()).toContainEqual({
      deviceId: 'ox-bad',
      count: cases.length + 1,
    });
    // The payload is kept sealed under the patient's key; the detail names no value.
    expect(letters.every((l) => l.keySubject === patientKeySubject(patientId))).toBe(true);
    const outOfRange = letters.find((l) => l.reason === 'VALUE_OUT_OF_RANGE')!;
    expect(outOfRange.detail).not.toContain('140');
    expect(outOfRange.sealedPayload.includes(Buffer.from('spo2'))).toBe(false);
    expect(openDeadLetter(pki.keyring, outOfRange)!.toString()).toBe(cases[6]![0].toString());

    const metrics = await registry.metrics();
    expect(metrics).toContain('vitalgate_ingest_dead_letters_total{reason="VALUE_OUT_OF_RANGE"} 1');
    expect(metrics).toContain('vitalgate_ingest_dead_letters_total{reason="SCHEMA_INVALID"} 2');
    expect(metrics).toContain('vitalgate_ingest_duplicates_total{kind="replay"} 1');
    expect(metrics).not.toContain('ox-bad');
    expect(metrics).not.toContain(patientId);
    await pipeline.stop();
  });

  it('readings of an erased patient become dead letters with nothing kept, and are acknowledged', async () => {
    const erased = addPatient(pki, 'Erased Patient');
    const { pipeline, client } = openTestPipeline(pki, influx, { dataDir: ownDataDir() });
    pipeline.start();
    const device = { deviceId: 'bp-erased', kind: 'bp_monitor' as const, patientId: erased };
    const bp = { type: 'blood_pressure', systolic: 130, diastolic: 85, unit: 'mm[Hg]' };
    expect(await pipeline.accept(device, envelope(1, [bp]))).toEqual({ outcome: 'accepted' });
    pki.keyring.shred(patientKeySubject(erased));
    expect(await pipeline.accept(device, envelope(2, [bp]))).toEqual({
      outcome: 'dead_letter',
      reason: 'PATIENT_ERASED',
    });
    const [letter] = pki.store.deadLetters.list({ deviceId: 'bp-erased' });
    expect(letter).toMatchObject({ reason: 'PATIENT_ERASED', keySubject: 'discarded' });
    expect(letter!.sealedPayload.length).toBe(0);
    expect(openDeadLetter(pki.keyring, letter!)).toBeNull();
    expect(await pipeline.writer.drained()).toBe(true);
    expect(await countPoints(client, "WHERE d = 'bp-erased'")).toBe(1);
    await pipeline.stop();
  });

  it('status messages record the firmware; invalid ones are counted, never stored', async () => {
    const { pipeline, registry } = openTestPipeline(pki, influx, { dataDir: ownDataDir() });
    pki.store.devices.add({ id: 'sc-status', kind: 'weight_scale', patientId });
    const device = { deviceId: 'sc-status', kind: 'weight_scale' as const, patientId };
    pipeline.acceptStatus(device, Buffer.from('{"v":1,"firmware":"2.0.1","battery":0.5,"uptimeS":10}'));
    pipeline.acceptStatus(device, Buffer.from('{"v":1,"firmware":"bad firmware!"}'));
    pipeline.acceptStatus(device, Buffer.from('not json'));
    expect(pki.store.devices.get('sc-status')?.firmware).toBe('2.0.1');
    const metrics = await registry.metrics();
    expect(metrics).toContain('vitalgate_ingest_status_messages_total{outcome="invalid"} 2');
    await pipeline.stop();
  });
});
