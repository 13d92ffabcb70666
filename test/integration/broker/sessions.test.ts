// Sessions over real mutual TLS: takeovers and shared certificates, per-source and global
// connection limits, the intake seam (no PUBACK without durability), graceful stop, metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecurityEvent } from '../../../core/store/security-events.js';
import { connectDevice, publishQos1, startTestBroker } from '../../support/broker.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient } from '../../support/ingest.js';
import { eventually, refusalCodes, ScriptedIntake } from './harness.js';

let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
const intake = new ScriptedIntake();
const events: SecurityEvent[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  broker = await startTestBroker(pki);
  broker.broker.setIntake(intake);
  broker.broker.on('security', (e) => events.push(e));
});
afterAll(async () => {
  await broker.stop();
  pki.cleanup();
});

describe('a second session with a live device’s id', () => {
  it('takes over; a conflicting-client-id event, and a shared-certificate event when from another address', async () => {
    const dev = await pki.issueDevice('wear-dup', 'wearable');
    const first = await connectDevice(broker.port, dev, 'wear-dup');
    const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
    const second = await connectDevice(broker.port, dev, 'wear-dup', { localAddress: '127.0.0.3' } as never);
    await firstClosed;
    first.end(true);
    expect(broker.broker.liveSessions()).toMatchObject([{ deviceId: 'wear-dup', address: '127.0.0.3' }]);
    const kinds = events.filter((e) => e.deviceId === 'wear-dup').map((e) => e.kind);
    expect(kinds).toEqual(['conflicting_client_id', 'shared_certificate']);
    expect(
      pki.store.securityEvents.list({ kind: 'shared_certificate', deviceId: 'wear-dup' })[0],
    ).toMatchObject({
      severity: 'critical',
      source: '127.0.0.3',
      details: { previousSource: '127.0.0.1', serial: dev.serial },
    });
    expect(
      pki.store.audit.list({ action: 'broker.disconnect', target: 'device:wear-dup' })[0]?.details,
    ).toEqual({
      cause: 'takeover',
    });

    // The same certificate again from the same address: a takeover, not a copied key.
    const third = await connectDevice(broker.port, dev, 'wear-dup', { localAddress: '127.0.0.3' } as never);
    expect(events.filter((e) => e.deviceId === 'wear-dup').map((e) => e.kind)).toEqual([
      'conflicting_client_id',
      'shared_certificate',
      'conflicting_client_id',
    ]);
    await third.endAsync();
    second.end(true);
    await eventually(() => expect(broker.broker.isConnected('wear-dup')).toBe(false));
  });
});

describe('the intake seam', () => {
  it('a message the intake refuses gets no PUBACK; the device is disconnected and sends it again', async () => {
    const dev = await pki.issueDevice('ox-spool', 'pulse_oximeter');
    const client = await connectDevice(broker.port, dev, 'ox-spool');
    intake.failWith = Object.assign(new Error('spool full'), { code: 'SPOOL_FULL' });
    let acked = false;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.publish('devices/ox-spool/telemetry', '{"v":1}', { qos: 1 }, (err) => (acked = !err));
    await closed;
    client.end(true);
    intake.failWith = undefined;
    expect(acked).toBe(false);
    await eventually(() =>
      expect(
        pki.store.audit.list({ action: 'broker.disconnect', target: 'device:ox-spool' })[0]?.details,
      ).toEqual({
        cause: 'intake_refused',
      }),
    );
  });

  it('status messages reach the intake; acks reach the command publisher, not the intake', async () => {
    const dev = await pki.issueDevice('ox-status', 'pulse_oximeter');
    const client = await connectDevice(broker.port, dev, 'ox-status');
    const acks: string[] = [];
    broker.broker.on('ack', (deviceId, payload) => acks.push(`${deviceId}:${payload.toString()}`));
    await publishQos1(client, 'devices/ox-status/status', '{"v":1,"battery":0.8}');
    await publishQos1(client, 'devices/ox-status/commands/ack', '{"v":1,"id":"c1","status":"done"}');
    await client.endAsync();
    expect(intake.status).toContainEqual({ deviceId: 'ox-status', payload: '{"v":1,"battery":0.8}' });
    expect(acks).toEqual(['ox-status:{"v":1,"id":"c1","status":"done"}']);
    expect(intake.telemetry.filter((t) => t.deviceId === 'ox-status')).toHaveLength(0);
  });
});

describe('device metrics', () => {
  it('are exposed per device and in total, without patient ids', async () => {
    const patientId = addPatient(pki);
    const dev = await pki.issueDevice('wear-m', 'wearable', { patientId });
    const client = await connectDevice(broker.port, dev, dev.deviceId);
    for (let i = 0; i < 3; i++)
      await publishQos1(client, `devices/${dev.deviceId}/telemetry`, `{"seq":${i}}`);
    await client.endAsync();
    const text = await broker.registry.metrics();
    expect(text).toContain(`vitalgate_device_messages_sent{device_id="${dev.deviceId}"} 3`);
    expect(text).toContain(`vitalgate_device_bytes_sent{device_id="${dev.deviceId}"} 27`);
    expect(text).toContain(`vitalgate_device_connection_attempts{device_id="${dev.deviceId}"} 1`);
    expect(text).toMatch(/vitalgate_mqtt_messages_total \d+/);
    expect(text).not.toContain(patientId);
    expect(broker.broker.metrics.snapshot(dev.deviceId)).toMatchObject({
      messagesSent: 3,
      lastSourceAddress: '127.0.0.1',
      firstSeen: expect.any(Number),
      lastSeen: expect.any(Number),
    });
  });
});

describe('connection limits', () => {
  it('refuses connections past the per-source rate and past the global cap, and records them', async () => {
    const limited = await startTestBroker(pki, {
      VITALGATE_CONNECTS_PER_SOURCE_PER_MINUTE: '2',
      VITALGATE_MAX_CONNECTIONS: '1',
    });
    try {
      const dev = await pki.issueDevice('ox-limit', 'pulse_oximeter');
      const first = await connectDevice(limited.port, dev, 'ox-limit');
      // The global cap (1) is reached: a connection from elsewhere is dropped.
      await expect(
        connectDevice(limited.port, dev, 'ox-limit', { localAddress: '127.0.0.4' } as never),
      ).rejects.toThrow();
      await first.endAsync();
      await eventually(() => expect(limited.broker.isConnected('ox-limit')).toBe(false));
      // 127.0.0.1 used its 2 connections per minute (the first connect and this one).
      const second = await connectDevice(limited.port, dev, 'ox-limit');
      await second.endAsync();
      await expect(connectDevice(limited.port, dev, 'ox-limit')).rejects.toThrow();
      await eventually(() =>
        expect(refusalCodes(pki)).toEqual(
          expect.arrayContaining(['CONNECTION_LIMIT_REACHED', 'CONNECTION_RATE_LIMITED']),
        ),
      );
      const text = await limited.registry.metrics();
      expect(text).toMatch(/vitalgate_mqtt_connection_refusals_total\{reason="CONNECTION_RATE_LIMITED"\} 1/);
      expect(text).toMatch(/vitalgate_mqtt_connection_refusals_total\{reason="CONNECTION_LIMIT_REACHED"\} 1/);
    } finally {
      await limited.stop();
    }
  });
});

describe('graceful stop', () => {
  it('lets intake calls in flight finish and acknowledge, then ends every session', async () => {
    const local = await startTestBroker(pki);
    const slow = new ScriptedIntake();
    slow.delayMs = 300;
    local.broker.setIntake(slow);
    const dev = await pki.issueDevice('ox-stop', 'pulse_oximeter');
    const client = await connectDevice(local.port, dev, 'ox-stop');
    const acked = publishQos1(client, 'devices/ox-stop/telemetry', '{"v":1}');
    await eventually(() => expect(slow.entered).toBe(1)); // the intake is working on it
    const stopped = local.stop();
    await acked;
    await stopped;
    expect(slow.telemetry).toHaveLength(1);
    expect(
      pki.store.audit.list({ action: 'broker.disconnect', target: 'device:ox-stop' })[0]?.details,
    ).toEqual({
      cause: 'hub_stopping',
    });
    client.end(true);
  });
});
