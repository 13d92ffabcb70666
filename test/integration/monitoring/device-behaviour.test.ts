// Device behaviour monitoring against a live broker: a flood gets the device quarantined under
// the auto-quarantine policy and its session ends; a silent monitor raises an event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import { DeviceBehaviourMonitor } from '../../../hub/monitoring/device-behaviour.js';
import { connectDevice, startTestBroker } from '../../support/broker.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
let monitor: DeviceBehaviourMonitor;

beforeAll(async () => {
  pki = await createTestPki();
  broker = await startTestBroker(pki, { VITALGATE_DEVICE_MESSAGES_PER_SECOND: '1000' });
  const config = loadConfig({
    env: {
      VITALGATE_DATA_DIR: pki.dataDir,
      VITALGATE_BEHAVIOUR_WINDOW_SECONDS: '1',
      VITALGATE_DEVICE_SILENT_MINUTES: '1',
    },
  });
  monitor = new DeviceBehaviourMonitor({
    config,
    store: pki.store,
    lifecycle: new DeviceLifecycle(pki.store, pki.authority, { kicker: broker.broker }),
    counters: () => broker.broker.metrics.snapshots(),
  });
});
afterAll(async () => {
  await broker.stop();
  pki.cleanup();
});

const reading = (seq: number) =>
  JSON.stringify({ v: 1, seq, ts: Date.now(), readings: [{ type: 'spo2', value: 97, unit: '%' }] });

describe('device behaviour', () => {
  it('a flood quarantines the device (auto-quarantine policy) and ends its session; a normal device is left alone', async () => {
    const flooder = await pki.issueDevice('ox-flood', 'pulse_oximeter');
    const calm = await pki.issueDevice('ox-calm', 'pulse_oximeter');
    const a = await connectDevice(broker.port, flooder, 'ox-flood');
    const b = await connectDevice(broker.port, calm, 'ox-calm');
    await a.publishAsync('devices/ox-flood/telemetry', reading(1), { qos: 1 });
    await b.publishAsync('devices/ox-calm/telemetry', reading(1), { qos: 1 });
    await monitor.tick(); // the baseline
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    for (let i = 2; i < 80; i++) await a.publishAsync('devices/ox-flood/telemetry', reading(i), { qos: 1 });
    await b.publishAsync('devices/ox-calm/telemetry', reading(2), { qos: 1 });
    const fired = await monitor.tick();
    expect(fired).toEqual([{ deviceId: 'ox-flood', rule: 'flood' }]);
    await closed;
    expect(pki.store.devices.require('ox-flood').status).toBe('quarantined');
    expect(pki.store.devices.require('ox-calm').status).toBe('active');
    expect(pki.store.securityEvents.list({ kind: 'behaviour_flood', deviceId: 'ox-flood' })[0]).toMatchObject(
      { severity: 'high' },
    );
    expect(pki.store.audit.list({ action: 'device.quarantine', target: 'device:ox-flood' })[0]?.actor).toBe(
      'system:monitor',
    );
    a.end(true);
    await b.endAsync();
  });

  it('a monitor that stops reporting raises a silence event once, within the window', async () => {
    const dev = await pki.issueDevice('th-quiet', 'thermometer');
    const client = await connectDevice(broker.port, dev, 'th-quiet');
    await client.publishAsync('devices/th-quiet/telemetry', reading(1), { qos: 1 });
    await client.endAsync();
    await monitor.tick();
    const later = Date.now() + 61_000;
    expect(await monitor.tick(later)).toContainEqual({ deviceId: 'th-quiet', rule: 'silence' });
    expect(await monitor.tick(later + 1_000)).not.toContainEqual({ deviceId: 'th-quiet', rule: 'silence' });
    expect(pki.store.securityEvents.list({ kind: 'behaviour_silence', deviceId: 'th-quiet' })).toHaveLength(
      1,
    );
    // Silence only alerts under the default policy.
    expect(pki.store.devices.require('th-quiet').status).toBe('active');
  });
});
