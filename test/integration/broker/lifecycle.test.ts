// Live lifecycle enforcement and signed commands, over real mutual TLS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandPublisher } from '../../../broker/commands.js';
import { verifyCommand } from '../../../pki/command-signature.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import { connectDevice, startTestBroker } from '../../support/broker.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { runPeer, writeFiles } from '../../support/openssl.js';

let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
let commands: CommandPublisher;
let lifecycle: DeviceLifecycle;

beforeAll(async () => {
  pki = await createTestPki();
  broker = await startTestBroker(pki, {
    VITALGATE_DEVICE_MESSAGES_PER_SECOND: '20',
    VITALGATE_MAX_PAYLOAD_BYTES: '2048',
  });
  commands = new CommandPublisher(broker.broker, pki.authority.commandSigner(), pki.store.audit, {
    ttlMs: 2_000,
  });
  lifecycle = new DeviceLifecycle(pki.store, pki.authority, { kicker: broker.broker, commander: commands });
});
afterAll(async () => {
  commands.close();
  await broker.stop();
  pki.cleanup();
});

describe('revocation of a connected device', () => {
  it('closes its session in under a second, refuses the reconnect, and fails the TLS handshake', async () => {
    const dev = await pki.issueDevice('wear-9', 'wearable');
    const client = await connectDevice(broker.port, dev, 'wear-9');
    const closed = new Promise<number>((resolve) => client.once('close', () => resolve(performance.now())));
    const t0 = performance.now();
    await lifecycle.apply('wear-9', 'revoke', 'reported stolen', 'user:ops');
    expect((await closed) - t0).toBeLessThan(1_000);
    client.end(true);
    await expect(connectDevice(broker.port, dev, 'wear-9')).rejects.toThrow();
    // The CRL in the TLS context was swapped in place: the handshake itself now fails for the
    // revoked certificate, while another device's certificate still completes it.
    const good = await pki.issueDevice('wear-10', 'wearable');
    const handshake = async (creds: typeof dev) => {
      const f = writeFiles({ 'ca.pem': creds.caPem, 'cert.pem': creds.certPem, 'key.pem': creds.keyPem });
      const r = await runPeer(
        'openssl',
        [
          's_client',
          '-tls1_2',
          '-connect',
          `127.0.0.1:${broker.port}`,
          '-CAfile',
          f['ca.pem']!,
          '-cert',
          f['cert.pem']!,
          '-key',
          f['key.pem']!,
        ],
        '',
        10_000,
      );
      return r.stdout + r.stderr;
    };
    // Node verifies the client certificate at the end of the handshake and drops the connection
    // when it fails: the client sees the peer hang up instead of a session.
    const accepted = await handshake(good);
    expect(accepted).toMatch(/Cipher is ECDHE-ECDSA-AES(128|256)-GCM/);
    expect(accepted).not.toMatch(/unexpected eof/);
    expect(await handshake(dev)).toMatch(/unexpected eof while reading/);
    expect(pki.store.audit.list({ action: 'broker.kick', target: 'device:wear-9' })[0]?.details).toEqual({
      cause: 'revoke',
    });
  });

  it('disable and quarantine end the session too, and enable lets it back in', async () => {
    const dev = await pki.issueDevice('ox-8', 'pulse_oximeter');
    for (const action of ['disable', 'quarantine'] as const) {
      const client = await connectDevice(broker.port, dev, 'ox-8');
      const closed = new Promise<void>((r) => client.once('close', () => r()));
      await lifecycle.apply('ox-8', action, 'investigating', 'user:ops');
      await closed;
      client.end(true);
      await expect(connectDevice(broker.port, dev, 'ox-8')).rejects.toThrow(/Not authorized/i);
      await lifecycle.apply('ox-8', 'enable', 'cleared', 'user:ops');
    }
    const back = await connectDevice(broker.port, dev, 'ox-8');
    await back.endAsync();
  });
});

describe('signed commands', () => {
  it('a wipe verifies against the command-signing certificate; the device acks, then it is revoked', async () => {
    const dev = await pki.issueDevice('bp-3', 'bp_monitor');
    const client = await connectDevice(broker.port, dev, 'bp-3');
    await client.subscribeAsync('devices/bp-3/commands', { qos: 1 });
    const signer = pki.authority.commandSigner().certificatePem;
    const seen = new Set<string>();
    const verdicts: string[] = [];
    client.on('message', (_topic, payload) => {
      const verdict = verifyCommand(JSON.parse(payload.toString()), signer, {
        now: Date.now(),
        seenIds: seen,
      });
      verdicts.push(verdict.ok ? 'ok' : verdict.code);
      if (verdict.ok) {
        seen.add(verdict.command.id);
        client.publish(
          'devices/bp-3/commands/ack',
          JSON.stringify({ v: 1, id: verdict.command.id, status: 'done' }),
          { qos: 1 },
        );
      }
    });
    const result = await lifecycle.apply('bp-3', 'wipe', 'returned by patient', 'user:ops');
    expect(verdicts).toEqual(['ok']);
    expect(result.status).toBe('wiped');
    expect(pki.authority.certificateStatus(dev.serial)).toMatchObject({ status: 'revoked' });
    expect(pki.store.audit.list({ action: 'device.wipe', target: 'device:bp-3' })[0]?.details).toMatchObject({
      wipe: 'acked',
    });
    client.end(true);
  });

  it('a wipe to a device that never acks waits for expiry before revoking', async () => {
    const dev = await pki.issueDevice('bp-4', 'bp_monitor');
    const client = await connectDevice(broker.port, dev, 'bp-4');
    await client.subscribeAsync('devices/bp-4/commands', { qos: 1 });
    const t0 = Date.now();
    await lifecycle.apply('bp-4', 'wipe', 'lost', 'user:ops');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900);
    expect(pki.store.audit.list({ action: 'device.wipe', target: 'device:bp-4' })[0]?.details).toMatchObject({
      wipe: 'expired',
    });
    client.end(true);
  });
});

describe('limits', () => {
  it('a packet over the size limit ends the connection and reaches nothing', async () => {
    const dev = await pki.issueDevice('scale-2', 'weight_scale');
    const client = await connectDevice(broker.port, dev, 'scale-2');
    const before = broker.intake.accepted.length;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.publish('devices/scale-2/telemetry', 'x'.repeat(10_000), { qos: 1 });
    await closed;
    client.end(true);
    expect(broker.intake.accepted.length).toBe(before);
    expect(pki.store.securityEvents.list({ kind: 'packet_too_large' })).not.toHaveLength(0);
  });

  it('a flood past the message rate is cut off', async () => {
    const dev = await pki.issueDevice('therm-1', 'thermometer');
    const client = await connectDevice(broker.port, dev, 'therm-1');
    const before = broker.intake.accepted.length;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    for (let i = 0; i < 200; i++) client.publish('devices/therm-1/telemetry', `{"n":${i}}`, { qos: 1 });
    await closed;
    client.end(true);
    const accepted = broker.intake.accepted.length - before;
    expect(accepted).toBeLessThanOrEqual(40); // the burst allowance (2 s at 20 msg/s)
    expect(
      pki.store.securityEvents.list({ kind: 'message_rate_exceeded', deviceId: 'therm-1' }),
    ).toHaveLength(1);
  });

  it('a device that keeps violating the ACL is quarantined', async () => {
    const dev = await pki.issueDevice('gluc-1', 'glucometer');
    for (let session = 0; session < 4; session++) {
      const client = await connectDevice(broker.port, dev, 'gluc-1').catch(() => undefined);
      if (!client) break;
      const closed = new Promise<void>((r) => client.once('close', () => r()));
      for (let i = 0; i < 3; i++) client.publish('devices/other/telemetry', '{}', { qos: 1 });
      await closed;
      client.end(true);
    }
    expect(pki.store.devices.require('gluc-1').status).toBe('quarantined');
    expect(pki.store.securityEvents.list({ kind: 'device_quarantined', deviceId: 'gluc-1' })).toHaveLength(1);
    await expect(connectDevice(broker.port, dev, 'gluc-1')).rejects.toThrow(/Not authorized/i);
  });
});
