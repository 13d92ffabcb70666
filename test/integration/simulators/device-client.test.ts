// The simulated device against the real broker over mutual TLS, with certificates the test
// hub's PKI issued through in-process enrollment: publish and PUBACK, buffering while the hub is
// away and forwarding in order, a restart of the device itself, and signed commands.
import { statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandPublisher } from '../../../broker/commands.js';
import { signCommand } from '../../../pki/command-signature.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import { DeviceClient } from '../../../simulators/device-client.js';
import { openConnection, type ConnectFailure } from '../../../simulators/device-connection.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { RestartableBroker, enrolledDevice, oximetry, tempDir, until } from './harness.js';

let pki: TestPki;
let broker: RestartableBroker;
let root: { dir: string; cleanup(): void };

beforeAll(async () => {
  pki = await createTestPki();
  broker = new RestartableBroker(pki);
  await broker.start();
  root = tempDir();
});
afterAll(async () => {
  await broker.stop();
  pki.cleanup();
  root.cleanup();
});

describe('a simulated device', () => {
  it('enrolls with its own key, keeps it 0600, and publishes QoS 1 until each PUBACK', async () => {
    const device = await enrolledDevice(pki, broker, root.dir, 'ox-1');
    expect(statSync(join(root.dir, 'ox-1', 'key.pem')).mode & 0o777).toBe(0o600);
    expect(pki.store.devices.require('ox-1')).toMatchObject({ status: 'active' });
    device.start();
    await until(() => device.status === 'online');
    for (let i = 0; i < 5; i++) device.record(oximetry(97, 70 + i));
    expect(await device.drain(5_000)).toBe(true);
    expect(broker.seqsOf('ox-1')).toEqual([1, 2, 3, 4, 5]);
    expect(device.counters).toMatchObject({ recorded: 5, acked: 5, ackedReadings: 10, resent: 0 });
    await device.stop();
  });

  it('buffers on disk while the hub is away and forwards in order when it is back', async () => {
    const device = await enrolledDevice(pki, broker, root.dir, 'ox-2');
    device.start();
    await until(() => device.status === 'online');
    device.record(oximetry());
    await device.drain(5_000);
    await broker.stop();
    await until(() => device.status !== 'online', 5_000, 'offline');
    for (let i = 0; i < 20; i++) device.record(oximetry(96, 60 + i));
    expect(device.buffered).toBe(20);
    const attempts = device.counters.connectAttempts;
    await until(() => device.counters.connectAttempts > attempts + 2, 10_000, 'reconnect attempts'); // backing off
    await broker.start();
    expect(await device.drain(10_000)).toBe(true);
    const seqs = broker.seqsOf('ox-2');
    expect(seqs).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(device.counters.acked).toBe(21);
    await device.stop();
  });

  it('restarted, keeps its seq and forwards what it buffered before the restart', async () => {
    const device = await enrolledDevice(pki, broker, root.dir, 'ox-3');
    device.record(oximetry());
    device.record(oximetry());
    await device.stop();
    const again = await DeviceClient.open({
      deviceId: 'ox-3',
      kind: 'pulse_oximeter',
      dir: join(root.dir, 'ox-3'),
      enrollment: {
        enroll: () => Promise.reject(new Error('no')),
        renew: () => Promise.reject(new Error('no')),
      },
      broker: { host: '127.0.0.1', port: broker.port },
    });
    expect(again.buffered).toBe(2);
    expect(again.record(oximetry())).toBe(3);
    again.start();
    expect(await again.drain(5_000)).toBe(true);
    expect(broker.seqsOf('ox-3')).toEqual([1, 2, 3]);
    await again.stop();
  });
});

describe('commands', () => {
  it('a wipe deletes key, certificate and buffer, acks, and the hub revokes the certificate', async () => {
    const device = await enrolledDevice(pki, broker, root.dir, 'ox-4');
    const creds = device.credentials!;
    device.start();
    await until(() => device.status === 'online');
    await broker.stop(); // buffer something first
    await until(() => device.status !== 'online');
    device.record(oximetry());
    await broker.start();
    await until(() => device.status === 'online');
    const commands = new CommandPublisher(broker.broker!, pki.authority.commandSigner(), pki.store.audit, {
      ttlMs: 5_000,
    });
    const wiped = new Promise<void>((resolve) => device.once('wiped', () => resolve()));
    const result = await new DeviceLifecycle(pki.store, pki.authority, {
      kicker: broker.broker!,
      commander: commands,
    }).apply('ox-4', 'wipe', 'returned by patient', 'user:ops');
    await wiped;
    expect(result.status).toBe('wiped');
    expect(pki.store.audit.list({ action: 'device.wipe', target: 'device:ox-4' })[0]?.details).toMatchObject({
      wipe: 'acked',
    });
    expect(existsSync(join(root.dir, 'ox-4', 'key.pem'))).toBe(false);
    expect(existsSync(join(root.dir, 'ox-4', 'cert.pem'))).toBe(false);
    expect(existsSync(join(root.dir, 'ox-4', 'outbox'))).toBe(false);
    expect(device.status).toBe('wiped');
    expect(device.record(oximetry())).toBeUndefined();
    expect(pki.authority.certificateStatus(creds.serial)).toMatchObject({ status: 'revoked' });
    // A copy of the old key and certificate no longer gets in.
    const refused = await openConnection(
      { host: '127.0.0.1', port: broker.port },
      { deviceId: 'ox-4', ...creds },
    ).then(
      (c) => {
        c.end(true);
        return undefined;
      },
      (f: ConnectFailure) => f,
    );
    expect(refused).toMatchObject({ refused: true });
    // Over TLS 1.3 the device cannot tell why; the hub's records can.
    await until(() =>
      pki.store.audit
        .list({ action: 'broker.connect', outcome: 'denied' })
        .some((e) => e.details?.code === 'CERTIFICATE_REVOKED'),
    );
    commands.close();
  });

  it('ping and config are acked, a forged or replayed command is ignored, disable stops publishing', async () => {
    const device = await enrolledDevice(pki, broker, root.dir, 'ox-5');
    const commands = new CommandPublisher(broker.broker!, pki.authority.commandSigner(), pki.store.audit, {
      ttlMs: 3_000,
    });
    device.start();
    await until(() => device.status === 'online');
    expect((await commands.send('ox-5', 'ping', {})).outcome).toBe('acked');
    expect((await commands.send('ox-5', 'config', { statusIntervalS: 60 })).outcome).toBe('acked');
    expect((await commands.send('ox-5', 'config', { colour: 'red' })).outcome).toBe('rejected');

    const other = await createTestPki();
    const forged = signCommand(
      {
        id: 'forged-1',
        type: 'wipe',
        issuedAt: Date.now(),
        expiresAt: Date.now() + 60_000,
        params: {},
        aud: 'ox-5',
      },
      other.authority.commandSigner().key,
    );
    other.cleanup();
    await broker.broker!.publishToDevice('ox-5', Buffer.from(JSON.stringify(forged)));
    await until(() => device.counters.commandsIgnored === 1);
    expect(device.status).toBe('online');

    const { command } = await commands.send('ox-5', 'ping', {});
    await broker.broker!.publishToDevice('ox-5', Buffer.from(JSON.stringify(command)));
    await until(() => device.counters.commandsIgnored === 2);

    expect((await commands.send('ox-5', 'disable', {})).outcome).toBe('acked');
    expect(device.record(oximetry())).toBeUndefined();
    commands.close();
    await device.stop();
  });

  it('rotate-cert renews with a new key and reconnects with the new certificate', async () => {
    const device = await enrolledDevice(pki, broker, root.dir, 'ox-6');
    const before = device.credentials!;
    const commands = new CommandPublisher(broker.broker!, pki.authority.commandSigner(), pki.store.audit, {
      ttlMs: 5_000,
    });
    device.start();
    await until(() => device.status === 'online');
    const renewed = new Promise<string>((resolve) => device.once('renewed', resolve));
    expect((await commands.send('ox-6', 'rotate-cert', {})).outcome).toBe('acked');
    const serial = await renewed;
    expect(serial).not.toBe(before.serial);
    expect(device.credentials!.keyPem).not.toBe(before.keyPem);
    expect(pki.store.devices.require('ox-6').currentSerial).toBe(serial);
    await until(() => device.counters.connects === 2 && device.status === 'online');
    expect(broker.broker!.liveSessions().find((s) => s.deviceId === 'ox-6')?.serial).toBe(serial);
    device.record(oximetry());
    expect(await device.drain(5_000)).toBe(true);
    commands.close();
    await device.stop();
  });
});
