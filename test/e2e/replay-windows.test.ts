// Replay windows belong to the enrollment (issue 22, item 1), through a real `vitalgate start`,
// its managed InfluxDB and mutual-TLS MQTT clients. A device re-enrolls (factory reset: a new key
// and certificate) and restarts its seq at 1: its readings are stored. A seq of 2^53-1 is refused
// as a dead letter and does not close the window. Every message dropped as a repeat or a replay is
// a dead letter with its reason, and a device that keeps sending behind its window raises a
// security event.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { BEHIND_WINDOW_EVENT_AFTER } from '../../ingest/intake.js';
import { connectDevice } from '../support/broker.js';
import { createTestPki, makeCsr, type DeviceCredentials, type TestPki } from '../support/hub-pki.js';
import { addPatient } from '../support/ingest.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';

let pki: TestPki;
let hub: HubProcess | undefined;
let first: DeviceCredentials;
const ID = 'wear-reset';

beforeAll(async () => {
  pki = await createTestPki();
  first = await pki.issueDevice(ID, 'wearable', { patientId: addPatient(pki) });
  hub = await startHubProcess({ VITALGATE_DATA_DIR: pki.dataDir });
}, 90_000);

afterAll(async () => {
  await hub?.stop();
  pki?.cleanup();
});

/** One message, one `steps` reading whose value tells the messages apart. */
function message(seq: number, steps: number): string {
  return JSON.stringify({
    v: 1,
    seq,
    ts: Date.now() - 60_000,
    readings: [{ type: 'steps', value: steps, unit: '{steps}' }],
  });
}

async function publish(client: MqttClient, seq: number, steps: number): Promise<void> {
  await client.publishAsync(`devices/${ID}/telemetry`, message(seq, steps), { qos: 1 });
}

/** How many `steps` readings InfluxDB holds for the device, once it holds at least `expected`. */
async function storedCount(influx: InfluxClient, expected: number): Promise<number> {
  let count = 0;
  for (let i = 0; i < 150; i++) {
    const series = await influx
      .query(`SELECT count(c) FROM telemetry WHERE d = '${ID}' AND t = 'steps'`)
      .catch(() => []);
    count = Number(series[0]?.rows[0]?.count ?? 0);
    if (count >= expected) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return count;
}

describe('a device that re-enrolls and restarts its seq', () => {
  it('has its readings stored; jumps and replays are dead letters; a device behind its window is reported', async () => {
    const port = hub!.ready.mqttPort;
    const influx = new InfluxClient({ url: hub!.ready.influxUrl, database: 'vitalgate' });
    const before = await connectDevice(port, first, ID);
    for (let seq = 1; seq <= 5; seq++) await publish(before, seq, seq);
    await before.endAsync();

    // Factory reset: a new key, a new CSR and a new one-time token; the counter starts over.
    const { token } = pki.tokens.issue(ID, 3_600_000, 'test');
    const { keyPem, csrPem } = await makeCsr(ID);
    const issued = await pki.enrollment.enroll(token, csrPem);
    const after = await connectDevice(
      port,
      { keyPem, certPem: issued.certificatePem, caPem: first.caPem },
      ID,
    );
    try {
      for (let seq = 1; seq <= 5; seq++) await publish(after, seq, 100 + seq);
      expect(await storedCount(influx, 10)).toBe(10);

      // One seq of 2^53-1 is refused with a reason, and the window stays open.
      await publish(after, Number.MAX_SAFE_INTEGER, 900);
      await publish(after, 6, 106);
      // A repeat of the last and a replay of an older one: acknowledged, kept as dead letters.
      await publish(after, 6, 206);
      await publish(after, 2, 202);
      expect(await storedCount(influx, 11)).toBe(11);

      const letters = pki.store.deadLetters.list({ deviceId: ID });
      expect(letters.map((l) => l.reason).sort()).toEqual(['DUPLICATE', 'REPLAY', 'SEQ_JUMP']);
      expect(letters.find((l) => l.reason === 'SEQ_JUMP')!.detail).toContain('VITALGATE_SEQ_MAX_JUMP');
      expect(pki.store.securityEvents.list({ kind: 'telemetry_behind_window' })).toEqual([]);

      // Sending on and on behind the window (a counter reset without re-enrollment, or a replay).
      for (let i = 2; i < BEHIND_WINDOW_EVENT_AFTER; i++) await publish(after, 3, 300 + i);
      const events = pki.store.securityEvents.list({ kind: 'telemetry_behind_window' });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ severity: 'high', deviceId: ID });
      expect(pki.store.deadLetters.list({ deviceId: ID, limit: 100 })).toHaveLength(
        BEHIND_WINDOW_EVENT_AFTER + 1,
      );
      // Nothing of the refused messages reached InfluxDB: the next message is the only one more.
      await publish(after, 7, 107);
      expect(await storedCount(influx, 12)).toBe(12);
    } finally {
      await after.endAsync();
    }
  }, 120_000);

  it('keeps the window across a renewal: the renewed certificate belongs to the same enrollment', async () => {
    const device = pki.store.devices.get(ID)!;
    const enrollment = pki.store.certificates.enrollmentOf(device.currentSerial!);
    const { csrPem } = await makeCsr(ID);
    const renewed = await pki.enrollment.renew(ID, device.currentSerial!, csrPem);
    expect(renewed.serial).not.toBe(device.currentSerial);
    expect(pki.store.certificates.enrollmentOf(renewed.serial)).toBe(enrollment);
  });
});
