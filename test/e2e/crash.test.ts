// kill -9 the hub while 20 devices publish; restart it. Every PUBACKed reading is in InfluxDB
// exactly once, and the devices' resent unacked messages are deduplicated.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { connectDevice } from '../support/broker.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../support/hub-pki.js';
import { addPatient } from '../support/ingest.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';

const DEVICES = 20;
const READINGS_PER_MESSAGE = 5;
let pki: TestPki;
let hub: HubProcess | undefined;
const devices: DeviceCredentials[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  const patientId = addPatient(pki);
  for (let i = 0; i < DEVICES; i++)
    devices.push(await pki.issueDevice(`wear-${i}`, 'wearable', { patientId }));
}, 60_000);
afterAll(async () => {
  await hub?.stop();
  pki.cleanup();
});

function message(seq: number, t0: number): string {
  const ts = t0 + seq * 1000;
  return JSON.stringify({
    v: 1,
    seq,
    ts,
    readings: [
      { type: 'heart_rate', value: 60 + (seq % 40), unit: '/min' },
      { type: 'spo2', value: 96, unit: '%' },
      { type: 'steps', value: seq, unit: '{steps}' },
      { type: 'body_temperature', value: 36.7, unit: 'Cel' },
      { type: 'heart_rate', value: 61, unit: '/min', ts: ts - 500 },
    ],
  });
}

interface DeviceRun {
  client?: MqttClient;
  sent: number;
  acked: number;
}

describe('a hub killed with SIGKILL mid-stream', () => {
  it('keeps every acknowledged reading, exactly once, after a restart', async () => {
    const t0 = Date.now() - 600_000;
    hub = await startHubProcess({ VITALGATE_DATA_DIR: pki.dataDir });
    const runs: DeviceRun[] = devices.map(() => ({ sent: 0, acked: 0 }));
    let killed = false;
    const publishing = Promise.all(
      devices.map(async (dev, i) => {
        const run = runs[i]!;
        run.client = await connectDevice(hub!.ready.mqttPort, dev, dev.deviceId);
        run.client.on('error', () => {});
        while (!killed) {
          const seq = run.sent + 1;
          run.sent = seq;
          const ok = await new Promise<boolean>((resolve) =>
            run.client!.publish(`devices/${dev.deviceId}/telemetry`, message(seq, t0), { qos: 1 }, (err) =>
              resolve(!err),
            ),
          );
          if (!ok) break;
          if (!killed) run.acked = seq;
        }
      }),
    ).catch(() => {});
    // Once every device is streaming (two readings acknowledged each), kill the hub without warning.
    for (let i = 0; i < 600 && runs.some((r) => r.acked < 2); i++)
      await new Promise((r) => setTimeout(r, 50));
    hub.child.kill('SIGKILL');
    killed = true;
    await hub.stop();
    for (const run of runs) run.client?.end(true);
    await publishing;
    const ackedTotal = runs.reduce((n, r) => n + r.acked, 0);
    expect(ackedTotal).toBeGreaterThanOrEqual(2 * DEVICES); // the run did publish

    hub = await startHubProcess({ VITALGATE_DATA_DIR: pki.dataDir });
    // Each device resends what it had not seen acked, from its last acked message on (that one is
    // a duplicate on purpose: a PUBACK lost in the crash looks the same to a device).
    await Promise.all(
      devices.map(async (dev, i) => {
        const run = runs[i]!;
        const client = await connectDevice(hub!.ready.mqttPort, dev, dev.deviceId);
        for (let seq = Math.max(1, run.acked); seq <= run.sent; seq++) {
          await client.publishAsync(`devices/${dev.deviceId}/telemetry`, message(seq, t0), { qos: 1 });
        }
        await client.endAsync();
      }),
    );
    const influx = new InfluxClient({ url: hub.ready.influxUrl, database: 'vitalgate' });
    const expected = runs.reduce((n, r) => n + r.sent, 0) * READINGS_PER_MESSAGE;
    let stored = 0;
    for (let i = 0; i < 100 && stored < expected; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const series = await influx.query('SELECT count(c) FROM telemetry').catch(() => []);
      stored = Number(series[0]?.rows[0]?.count ?? 0);
    }
    expect(stored).toBe(expected);
    // Per device: every seq up to the last sent, each exactly once.
    const perDevice = await influx.query("SELECT count(c) FROM telemetry WHERE t = 'steps' GROUP BY d");
    for (const [i, run] of runs.entries()) {
      const series = perDevice.find((s) => s.tags.d === devices[i]!.deviceId);
      expect(Number(series?.rows[0]?.count ?? 0)).toBe(run.sent);
    }
  }, 120_000);
});
