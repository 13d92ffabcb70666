// Signed commands from the hub to devices (SPEC §4): signed with the command-signing key, bound
// to one device (`aud`), delivered QoS 1 to devices/{id}/commands, and acknowledged by the
// device on devices/{id}/commands/ack. An answer from another device, or after expiry, is ignored.
import { randomUUID, type KeyObject } from 'node:crypto';
import type { AuditLog } from '../core/audit.js';
import { signCommand, type CommandType, type SignedCommand } from '../pki/command-signature.js';
import type { WipeCommander } from '../pki/lifecycle.js';

/** What the publisher needs from the broker (DeviceBroker implements it). */
export interface CommandChannel {
  isConnected(deviceId: string): boolean;
  publishToDevice(deviceId: string, payload: Buffer): Promise<void>;
  on(event: 'ack', listener: (deviceId: string, payload: Buffer) => void): unknown;
}

export type CommandOutcome = 'acked' | 'rejected' | 'expired' | 'not_connected';

interface Pending {
  deviceId: string;
  resolve(outcome: CommandOutcome): void;
  timer: NodeJS.Timeout;
}

export class CommandPublisher implements WipeCommander {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly broker: CommandChannel,
    private readonly signer: { key: KeyObject },
    private readonly audit: AuditLog,
    private readonly options: { ttlMs?: number; now?: () => number } = {},
  ) {
    broker.on('ack', (deviceId, payload) => this.onAck(deviceId, payload));
  }

  /** Signs and sends a command; resolves with the device's answer, or at expiry. */
  async send(
    deviceId: string,
    type: CommandType,
    params: Record<string, unknown>,
    actor = 'system',
  ): Promise<{ command: SignedCommand; outcome: CommandOutcome }> {
    const now = (this.options.now ?? Date.now)();
    const ttl = this.options.ttlMs ?? 60_000;
    const command = signCommand(
      { id: randomUUID(), type, issuedAt: now, expiresAt: now + ttl, params, aud: deviceId },
      this.signer.key,
    );
    let outcome: CommandOutcome;
    if (!this.broker.isConnected(deviceId)) {
      outcome = 'not_connected';
    } else {
      const answered = new Promise<CommandOutcome>((resolve) => {
        const timer = setTimeout(() => {
          this.pending.delete(command.id);
          resolve('expired');
        }, ttl);
        this.pending.set(command.id, { deviceId, resolve, timer });
      });
      try {
        await this.broker.publishToDevice(deviceId, Buffer.from(JSON.stringify(command)));
      } catch (err) {
        this.settle(command.id, 'not_connected');
        throw err;
      }
      outcome = await answered;
    }
    this.audit.append({
      actor,
      action: `command.${type}`,
      target: `device:${deviceId}`,
      outcome: outcome === 'acked' ? 'success' : 'failure',
      details: { commandId: command.id, outcome },
    });
    return { command, outcome };
  }

  async wipe(deviceId: string, reason: string): Promise<'acked' | 'expired' | 'not_connected'> {
    const { outcome } = await this.send(deviceId, 'wipe', { reason });
    return outcome === 'rejected' ? 'expired' : outcome;
  }

  private onAck(deviceId: string, payload: Buffer): void {
    let ack: { v?: unknown; id?: unknown; status?: unknown };
    try {
      ack = JSON.parse(payload.toString('utf8')) as typeof ack;
    } catch {
      return;
    }
    if (typeof ack.id !== 'string') return;
    const pending = this.pending.get(ack.id);
    if (!pending || pending.deviceId !== deviceId) return;
    this.settle(ack.id, ack.status === 'done' ? 'acked' : 'rejected');
  }

  private settle(id: string, outcome: CommandOutcome): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(outcome);
  }

  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve('expired');
      this.pending.delete(id);
    }
  }
}
