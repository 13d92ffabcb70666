// Missing-data and battery alarms through the real mutual-TLS broker and ingest: a wearable that
// stops publishing raises `data_missing` once its cadence (5 min) plus the check interval has
// passed on the test clock (tick() called: no sleeps), and clears when it publishes again; a low
// battery on the status topic raises `device_battery_low`, a recharged one clears it. A
// clinician sees them in the alert list like any alert.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishQos1 } from '../../support/broker.js';
import { addPatient, envelope } from '../../support/ingest.js';
import { enrolledUser, startTestHub, waitFor, type TestHub } from './harness.js';

let hub: TestHub;
let patientId: string;
let device: MqttClient;
let seq = 0;
let token: string;
const MIN = 60_000;

beforeAll(async () => {
  hub = await startTestHub();
  patientId = addPatient(hub.pki, 'Clara Barton');
  device = await connectDevice(
    hub.brokerPort,
    await hub.pki.issueDevice('wear-quiet', 'wearable', { patientId }),
    'wear-quiet',
  );
  token = (await enrolledUser(hub, 'dr.quiet', 'clinician')).token;
  hub.pki.store.patients.assign(patientId, 'dr.quiet');
}, 60_000);

afterAll(async () => {
  await device?.endAsync();
  await hub?.close();
});

const publish = async () => {
  seq += 1;
  await publishQos1(
    device,
    'devices/wear-quiet/telemetry',
    envelope(seq, [{ type: 'heart_rate', value: 70, unit: '/min' }]).toString(),
  );
};
const alarms = (rule: string) => hub.pki.store.alerts.list({ patientId }).filter((a) => a.rule === rule);

describe('device alarms', () => {
  it('a wearable silent past its cadence raises data_missing once, and it clears when it publishes again', async () => {
    await publish();
    hub.clock.advance(5 * MIN - 1_000);
    expect(hub.deviceWatch.tick()).toBe(0);
    hub.clock.advance(6_000); // past the cadence, within the 5 s check interval
    expect(hub.deviceWatch.tick()).toBe(1);
    expect(hub.deviceWatch.tick()).toBe(0);
    expect(alarms('data_missing')).toEqual([
      expect.objectContaining({ status: 'open', severity: 'low', deviceId: 'wear-quiet' }),
    ]);
    const listed = await hub.client.request('GET', `/api/v1/alerts?patientId=${patientId}&status=open`, {
      token,
    });
    expect(listed.body).toEqual([expect.objectContaining({ rule: 'data_missing' })]);

    await publish();
    expect(alarms('data_missing')).toEqual([expect.objectContaining({ status: 'cleared' })]);
    hub.clock.advance(MIN);
    expect(hub.deviceWatch.tick()).toBe(0);
  });

  it('a low battery on the status topic raises device_battery_low; a recharged one clears it', async () => {
    const status = (battery: number) =>
      publishQos1(
        device,
        'devices/wear-quiet/status',
        JSON.stringify({ v: 1, firmware: '1.2.0', battery, uptimeS: 100 }),
      );
    await status(0.1);
    await waitFor(() => alarms('device_battery_low').length === 1);
    await status(0.12);
    await status(0.2); // between the levels: stays
    await status(0.9);
    await waitFor(() => alarms('device_battery_low')[0]?.status === 'cleared');
    expect(alarms('device_battery_low')).toHaveLength(1);
  });
});
