// Signed commands over real mutual TLS, checked by a small reference device: it pins the
// command-signing certificate it got at enrollment, verifies signature, audience, expiry and
// replay of everything on its commands topic, and acks only what it accepted.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandPublisher } from '../../../broker/commands.js';
import { signCommand, verifyCommand, type SignedCommand } from '../../../pki/command-signature.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import { connectDevice, startTestBroker } from '../../support/broker.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../../support/hub-pki.js';
import { eventually } from './harness.js';

/** What firmware does with a command: verify, act once, answer. */
class ReferenceDevice {
  readonly verdicts: string[] = [];
  private readonly seen = new Set<string>();

  private constructor(
    readonly client: MqttClient,
    private readonly deviceId: string,
    private readonly signerPem: string,
  ) {
    client.on('message', (_topic, payload) => this.onCommand(payload));
  }

  static async connect(port: number, creds: DeviceCredentials, signerPem: string) {
    const client = await connectDevice(port, creds, creds.deviceId);
    await client.subscribeAsync(`devices/${creds.deviceId}/commands`, { qos: 1 });
    return new ReferenceDevice(client, creds.deviceId, signerPem);
  }

  private onCommand(payload: Buffer): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString());
    } catch {
      parsed = undefined;
    }
    const verdict = verifyCommand(parsed, this.signerPem, {
      now: Date.now(),
      seenIds: this.seen,
      deviceId: this.deviceId,
    });
    this.verdicts.push(verdict.ok ? `ok:${verdict.command.type}` : verdict.code);
    if (!verdict.ok) return; // ignored: not answered, never acted on
    this.seen.add(verdict.command.id);
    this.client.publish(
      `devices/${this.deviceId}/commands/ack`,
      JSON.stringify({ v: 1, id: verdict.command.id, status: 'done' }),
      { qos: 1 },
    );
  }
}

let pki: TestPki;
let broker: Awaited<ReturnType<typeof startTestBroker>>;
let commands: CommandPublisher;
let lifecycle: DeviceLifecycle;
let signerPem: string;

beforeAll(async () => {
  pki = await createTestPki();
  broker = await startTestBroker(pki);
  const signer = pki.authority.commandSigner();
  signerPem = signer.certificatePem;
  commands = new CommandPublisher(broker.broker, signer, pki.store.audit, { ttlMs: 1_500 });
  lifecycle = new DeviceLifecycle(pki.store, pki.authority, { kicker: broker.broker, commander: commands });
});
afterAll(async () => {
  commands.close();
  await broker.stop();
  pki.cleanup();
});

describe('a wipe', () => {
  it('verifies against the command-signing certificate; the device acks; then it is revoked', async () => {
    const creds = await pki.issueDevice('bp-3', 'bp_monitor');
    const device = await ReferenceDevice.connect(broker.port, creds, signerPem);
    const result = await lifecycle.apply('bp-3', 'wipe', 'returned by patient', 'user:ops');
    expect(device.verdicts).toEqual(['ok:wipe']);
    expect(result.status).toBe('wiped');
    expect(pki.authority.certificateStatus(creds.serial)).toMatchObject({ status: 'revoked' });
    expect(pki.store.audit.list({ action: 'device.wipe', target: 'device:bp-3' })[0]?.details).toMatchObject({
      wipe: 'acked',
    });
    expect(pki.store.audit.list({ action: 'command.wipe', target: 'device:bp-3' })[0]).toMatchObject({
      outcome: 'success',
      details: { outcome: 'acked' },
    });
    device.client.end(true);
  });

  it('to a device that never acks waits for expiry before revoking', async () => {
    const creds = await pki.issueDevice('bp-4', 'bp_monitor');
    const client = await connectDevice(broker.port, creds, 'bp-4');
    await client.subscribeAsync('devices/bp-4/commands', { qos: 1 });
    const t0 = Date.now();
    await lifecycle.apply('bp-4', 'wipe', 'lost', 'user:ops');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400);
    expect(pki.authority.certificateStatus(creds.serial)).toMatchObject({ status: 'revoked' });
    expect(pki.store.audit.list({ action: 'device.wipe', target: 'device:bp-4' })[0]?.details).toMatchObject({
      wipe: 'expired',
    });
    client.end(true);
  });
});

describe('the reference device rejects', () => {
  let creds: DeviceCredentials;
  let device: ReferenceDevice;
  const genuine = (overrides: Partial<SignedCommand> = {}): SignedCommand => {
    const now = Date.now();
    return signCommand(
      {
        id: `c-${Math.random()}`,
        type: 'wipe',
        issuedAt: now,
        expiresAt: now + 60_000,
        params: {},
        aud: 'bp-5',
        ...overrides,
      },
      pki.authority.commandSigner().key,
    );
  };
  const deliver = async (command: unknown) => {
    const before = device.verdicts.length;
    await broker.broker.publishToDevice('bp-5', Buffer.from(JSON.stringify(command)));
    await eventually(() => expect(device.verdicts.length).toBe(before + 1));
    return device.verdicts.at(-1);
  };

  beforeAll(async () => {
    creds = await pki.issueDevice('bp-5', 'bp_monitor');
    device = await ReferenceDevice.connect(broker.port, creds, signerPem);
  });
  afterAll(() => device.client.end(true));

  it('a tampered command (params changed after signing)', async () => {
    expect(await deliver({ ...genuine({ params: { reason: 'lost' } }), params: { reason: 'x' } })).toBe(
      'COMMAND_SIGNATURE_INVALID',
    );
  });

  it('a command signed by another key', async () => {
    const other = await createTestPki();
    try {
      const forged = signCommand(
        {
          id: 'forged',
          type: 'wipe',
          issuedAt: Date.now(),
          expiresAt: Date.now() + 60_000,
          params: {},
          aud: 'bp-5',
        },
        other.authority.commandSigner().key,
      );
      expect(await deliver(forged)).toBe('COMMAND_SIGNATURE_INVALID');
    } finally {
      other.cleanup();
    }
  });

  it('an expired command', async () => {
    expect(await deliver(genuine({ issuedAt: Date.now() - 120_000, expiresAt: Date.now() - 60_000 }))).toBe(
      'COMMAND_EXPIRED',
    );
  });

  it('a command for another device, and a replay', async () => {
    expect(await deliver(genuine({ aud: 'bp-6' }))).toBe('COMMAND_WRONG_DEVICE');
    const once = genuine();
    expect(await deliver(once)).toBe('ok:wipe');
    expect(await deliver(once)).toBe('COMMAND_REPLAYED');
  });

  it('but accepts and acks a genuine command from the publisher, bound to it', async () => {
    const sent = await commands.send('bp-5', 'ping', {}, 'user:ops');
    expect(sent.outcome).toBe('acked');
    expect(sent.command.aud).toBe('bp-5');
    expect(device.verdicts.at(-1)).toBe('ok:ping');
  });
});
