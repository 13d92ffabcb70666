// Device behaviour monitoring against a live broker: a flood or a burst of refused connections
// gets the device quarantined under the default auto-quarantine policy and its session ends;
// flapping and a new source network raise events only; a silent monitor raises an event.
import { once } from 'node:events';
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

  /** Connects, and resolves once the broker has ended the session the client closed. */
  async function connectAndLeave(port: number, creds: Parameters<typeof connectDevice>[1], id: string) {
    const client = await connectDevice(port, creds, id);
    const gone = once(broker.broker, 'disconnected');
    await client.endAsync();
    await gone;
  }

  it('a burst of refused connections quarantines the device (auto-quarantine policy); one short of it does not', async () => {
    const burst = await pki.issueDevice('wear-burst', 'wearable');
    const fewer = await pki.issueDevice('wear-fewer', 'wearable');
    const a = await connectDevice(broker.port, burst, 'wear-burst');
    await connectAndLeave(broker.port, fewer, 'wear-fewer');
    await monitor.tick(); // the baselines
    // The device's certificate with another client id: refused at CONNECT, counted for the device.
    for (let i = 0; i < 5; i++)
      await expect(connectDevice(broker.port, burst, 'not-wear-burst')).rejects.toThrow();
    for (let i = 0; i < 4; i++)
      await expect(connectDevice(broker.port, fewer, 'not-wear-fewer')).rejects.toThrow();
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    const fired = await monitor.tick();
    expect(fired.filter((f) => f.rule === 'auth_failures')).toEqual([
      { deviceId: 'wear-burst', rule: 'auth_failures' },
    ]);
    await closed;
    expect(pki.store.devices.require('wear-burst').status).toBe('quarantined');
    expect(pki.store.devices.require('wear-fewer').status).toBe('active');
    expect(
      pki.store.securityEvents.list({ kind: 'behaviour_auth_failures', deviceId: 'wear-burst' }),
    ).toEqual([expect.objectContaining({ severity: 'high' })]);
    expect(
      pki.store.securityEvents.list({ kind: 'behaviour_auth_failures', deviceId: 'wear-fewer' }),
    ).toEqual([]);
    expect(pki.store.audit.list({ action: 'device.quarantine', target: 'device:wear-burst' })[0]?.actor).toBe(
      'system:monitor',
    );
    a.end(true);
  });

  it('a device that keeps reconnecting raises a flapping event, and stays active (not in the policy)', async () => {
    const dev = await pki.issueDevice('bp-flap', 'bp_monitor');
    await connectAndLeave(broker.port, dev, 'bp-flap'); // one disconnect before the baseline
    await monitor.tick();
    for (let i = 0; i < 4; i++) await connectAndLeave(broker.port, dev, 'bp-flap');
    expect((await monitor.tick()).filter((f) => f.deviceId === 'bp-flap')).toEqual([]); // 4: not yet
    for (let i = 0; i < 5; i++) await connectAndLeave(broker.port, dev, 'bp-flap');
    expect((await monitor.tick()).filter((f) => f.deviceId === 'bp-flap')).toEqual([
      { deviceId: 'bp-flap', rule: 'flapping' },
    ]);
    expect(pki.store.securityEvents.list({ kind: 'behaviour_flapping', deviceId: 'bp-flap' })).toEqual([
      expect.objectContaining({ severity: 'low', details: expect.objectContaining({ quarantine: false }) }),
    ]);
    expect(pki.store.devices.require('bp-flap').status).toBe('active');
  });

  it('a device that appears on another network raises a new-network event once', async () => {
    const dev = await pki.issueDevice('sc-move', 'weight_scale');
    await connectAndLeave(broker.port, dev, 'sc-move'); // from 127.0.0.1
    await monitor.tick();
    await connectAndLeave(broker.port, dev, 'sc-move'); // the same /24
    expect((await monitor.tick()).filter((f) => f.deviceId === 'sc-move')).toEqual([]);
    // From 127.0.1.2: another /24 (all of 127/8 is loopback here).
    const moved = await connectDevice(broker.port, dev, 'sc-move', {
      localAddress: '127.0.1.2',
    } as Parameters<typeof connectDevice>[3]);
    const gone = once(broker.broker, 'disconnected');
    await moved.endAsync();
    await gone;
    expect((await monitor.tick()).filter((f) => f.deviceId === 'sc-move')).toEqual([
      { deviceId: 'sc-move', rule: 'new_network' },
    ]);
    expect(await monitor.tick()).not.toContainEqual({ deviceId: 'sc-move', rule: 'new_network' });
    expect(pki.store.securityEvents.list({ kind: 'behaviour_new_network', deviceId: 'sc-move' })).toEqual([
      expect.objectContaining({ severity: 'low' }),
    ]);
    expect(pki.store.devices.require('sc-move').status).toBe('active');
  });
});
