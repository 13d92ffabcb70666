// Ack tracking of the CommandPublisher against a fake channel: acked, rejected, expired, not
// connected, answers from the wrong device. Signatures are checked over real TLS in
// test/integration/broker/commands.test.ts.
import { EventEmitter } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommandPublisher, type CommandChannel } from '../../../broker/commands.js';
import type { AuditEntryInput, AuditLog } from '../../../core/audit.js';
import type { SignedCommand } from '../../../pki/command-signature.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

class FakeChannel extends EventEmitter implements CommandChannel {
  connected = new Set(['bp-1', 'bp-2']);
  sent: { deviceId: string; command: SignedCommand }[] = [];
  failPublish = false;
  isConnected(id: string) {
    return this.connected.has(id);
  }
  async publishToDevice(deviceId: string, payload: Buffer) {
    if (this.failPublish) throw new Error('broker is not running');
    this.sent.push({ deviceId, command: JSON.parse(payload.toString()) as SignedCommand });
  }
  answer(deviceId: string, id: string, status: string) {
    this.emit('ack', deviceId, Buffer.from(JSON.stringify({ v: 1, id, status })));
  }
}

function setup(ttlMs = 1_000) {
  const channel = new FakeChannel();
  const audit: AuditEntryInput[] = [];
  const publisher = new CommandPublisher(
    channel,
    { key: privateKey },
    { append: (e: AuditEntryInput) => audit.push(e) } as unknown as AuditLog,
    { ttlMs, now: () => 1_800_000_000_000 },
  );
  return { channel, audit, publisher };
}

const flush = () => new Promise((r) => setImmediate(r));

afterEach(() => vi.useRealTimers());

describe('CommandPublisher', () => {
  it('signs a command bound to the device, delivers it, and resolves on the device’s ack', async () => {
    const { channel, audit, publisher } = setup();
    const sending = publisher.send('bp-1', 'ping', { n: 1 }, 'user:ops');
    await flush();
    const { command } = channel.sent[0]!;
    expect(command).toMatchObject({
      type: 'ping',
      aud: 'bp-1',
      params: { n: 1 },
      issuedAt: 1_800_000_000_000,
      expiresAt: 1_800_000_001_000,
    });
    expect(command.sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    channel.answer('bp-2', command.id, 'done'); // another device cannot answer for it
    channel.answer('bp-1', 'unknown-id', 'done');
    channel.emit('ack', 'bp-1', Buffer.from('not json'));
    channel.answer('bp-1', command.id, 'done');
    expect((await sending).outcome).toBe('acked');
    expect(audit).toEqual([
      {
        actor: 'user:ops',
        action: 'command.ping',
        target: 'device:bp-1',
        outcome: 'success',
        details: { commandId: command.id, outcome: 'acked' },
      },
    ]);
  });

  it('reports a device’s refusal as rejected', async () => {
    const { channel, publisher } = setup();
    const sending = publisher.send('bp-1', 'config', {});
    await flush();
    channel.answer('bp-1', channel.sent[0]!.command.id, 'rejected');
    expect((await sending).outcome).toBe('rejected');
  });

  it('expires a command nobody answered', async () => {
    vi.useFakeTimers();
    const { publisher, audit } = setup(5_000);
    const sending = publisher.send('bp-1', 'ping', {});
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await sending).outcome).toBe('expired');
    expect(audit[0]).toMatchObject({ outcome: 'failure', details: { outcome: 'expired' } });
  });

  it('does not wait for a device that is not connected', async () => {
    const { channel, publisher } = setup();
    expect(await publisher.wipe('bp-9', 'lost')).toBe('not_connected');
    expect(channel.sent).toHaveLength(0);
  });

  it('a wipe resolves acked, or expired when the device refused it', async () => {
    const { channel, publisher } = setup();
    const wiping = publisher.wipe('bp-1', 'returned');
    await flush();
    expect(channel.sent[0]!.command).toMatchObject({ type: 'wipe', params: { reason: 'returned' } });
    channel.answer('bp-1', channel.sent[0]!.command.id, 'done');
    expect(await wiping).toBe('acked');
    const refused = publisher.wipe('bp-2', 'returned');
    await flush();
    channel.answer('bp-2', channel.sent[1]!.command.id, 'rejected');
    expect(await refused).toBe('expired');
  });

  it('fails the send (and forgets the command) when the broker cannot publish', async () => {
    const { channel, publisher } = setup();
    channel.failPublish = true;
    await expect(publisher.send('bp-1', 'ping', {})).rejects.toThrow(/not running/);
  });

  it('close() expires what is still pending', async () => {
    const { publisher } = setup(60_000);
    const sending = publisher.send('bp-1', 'ping', {});
    await flush();
    publisher.close();
    expect((await sending).outcome).toBe('expired');
  });
});
