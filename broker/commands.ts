// Signed commands from the hub to devices (SPEC §4): signed with the command-signing key, bound
// to one device (`aud`), delivered QoS 1 to devices/{id}/commands, and acknowledged by the
// device on devices/{id}/commands/ack. An answer from another device, or after expiry, is ignored.
// Every command sent is audited as `command.<type>` with its outcome.
import { randomUUID, type KeyObject } from 'node:crypto';
import type { AuditLog } from '../core/audit.js';
import { signCommand, type CommandType, type SignedCommand } from '../pki/command-signature.js';
import type { DeviceCommander } from '../pki/lifecycle.js';

/** What the publisher needs from the broker (DeviceBroker implements it). */
export interface CommandChannel {
  isConnected(deviceId: string): boolean;
  /** Whether the live session subscribed to its commands (when the channel knows). */
  isListening?(deviceId: string): boolean;
  publishToDevice(deviceId: string, payload: Buffer): Promise<void>;
  on(event: 'ack', listener: (deviceId: string, payload: Buffer) => void): unknown;
}

export type CommandOutcome = 'acked' | 'rejected' | 'expired' | 'not_connected';

/** How long a command is valid (and the hub waits for its ack) unless the caller says otherwise. */
export const COMMAND_TTL_MS = 60_000;
/** A disable waits this long for the device's ack before its session is ended anyway. */
export const DISABLE_ACK_WAIT_MS = 5_000;

export interface CommandResult {
  command: SignedCommand;
  outcome: CommandOutcome;
  /** The device's reason for a rejection (a code), when it gave one. */
  detail?: string;
}

interface Pending {
  deviceId: string;
  resolve(answer: { outcome: CommandOutcome; detail?: string }): void;
  timer: NodeJS.Timeout;
}

export class CommandPublisher implements DeviceCommander {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly broker: CommandChannel,
    private readonly signer: { key: KeyObject },
    private readonly audit: AuditLog,
    private readonly options: { ttlMs?: number; now?: () => number } = {},
  ) {
    broker.on('ack', (deviceId, payload) => this.onAck(deviceId, payload));
  }

  /**
   * Signs and sends a command; resolves with the device's answer, or at expiry (`ttlMs`, default
   * the publisher's). `id` lets a caller record the command before it goes out.
   */
  async send(
    deviceId: string,
    type: CommandType,
    params: Record<string, unknown>,
    actor = 'system',
    options: { ttlMs?: number; id?: string } = {},
  ): Promise<CommandResult> {
    const now = (this.options.now ?? Date.now)();
    const ttl = options.ttlMs ?? this.options.ttlMs ?? COMMAND_TTL_MS;
    const command = signCommand(
      { id: options.id ?? randomUUID(), type, issuedAt: now, expiresAt: now + ttl, params, aud: deviceId },
      this.signer.key,
    );
    let answer: { outcome: CommandOutcome; detail?: string };
    // A session that never subscribed to its commands cannot hear one: it is as good as absent.
    if (!(this.broker.isListening?.(deviceId) ?? this.broker.isConnected(deviceId))) {
      answer = { outcome: 'not_connected' };
    } else {
      const answered = new Promise<{ outcome: CommandOutcome; detail?: string }>((resolve) => {
        const timer = setTimeout(() => {
          this.pending.delete(command.id);
          resolve({ outcome: 'expired' });
        }, ttl);
        this.pending.set(command.id, { deviceId, resolve, timer });
      });
      try {
        await this.broker.publishToDevice(deviceId, Buffer.from(JSON.stringify(command)));
      } catch (err) {
        this.settle(command.id, { outcome: 'not_connected' });
        throw err;
      }
      answer = await answered;
    }
    this.audit.append({
      actor,
      action: `command.${type}`,
      target: `device:${deviceId}`,
      outcome: answer.outcome === 'acked' ? 'success' : 'failure',
      details: {
        commandId: command.id,
        outcome: answer.outcome,
        ...(answer.detail ? { detail: answer.detail } : {}),
      },
    });
    return { command, ...answer };
  }

  async wipe(
    deviceId: string,
    reason: string,
    actor = 'system',
  ): Promise<'acked' | 'expired' | 'not_connected'> {
    const { outcome } = await this.send(deviceId, 'wipe', { reason }, actor);
    return outcome === 'rejected' ? 'expired' : outcome;
  }

  /** Tells the device it is disabled; waits briefly for its ack (its session ends either way). */
  async disable(deviceId: string, reason: string, actor = 'system'): Promise<CommandOutcome> {
    return (await this.send(deviceId, 'disable', { reason }, actor, { ttlMs: DISABLE_ACK_WAIT_MS })).outcome;
  }

  private onAck(deviceId: string, payload: Buffer): void {
    let ack: { v?: unknown; id?: unknown; status?: unknown; detail?: unknown };
    try {
      ack = JSON.parse(payload.toString('utf8')) as typeof ack;
    } catch {
      return;
    }
    if (typeof ack.id !== 'string') return;
    const pending = this.pending.get(ack.id);
    if (!pending || pending.deviceId !== deviceId) return;
    if (ack.status === 'done') return this.settle(ack.id, { outcome: 'acked' });
    // A device's reason is a short code (UNSUPPORTED_SETTING); anything else is not kept.
    const detail =
      typeof ack.detail === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(ack.detail) ? ack.detail : undefined;
    this.settle(ack.id, detail ? { outcome: 'rejected', detail } : { outcome: 'rejected' });
  }

  private settle(id: string, answer: { outcome: CommandOutcome; detail?: string }): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    pending.resolve(answer);
  }

  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ outcome: 'expired' });
      this.pending.delete(id);
    }
  }
}
