// Commands from the hub, as the device sees them: parsed, verified against the command-signing
// certificate pinned at enrollment (signature, audience, expiry, replay), and remembered before
// the device acts on them, so a restart in the middle of an action does not act twice. A command
// that does not verify is ignored: not answered, never acted on (SPEC §4).
import type { CommandRefusal, SignedCommand } from '../pki/command-signature.js';
import { verifyCommand } from '../pki/command-signature.js';
import type { DeviceStateDir } from './device-state.js';

export type CommandDecision = { act: true; command: SignedCommand } | { act: false; code: CommandRefusal };

export interface CommandAck {
  v: 1;
  id: string;
  status: 'done' | 'rejected';
  detail?: string;
}

export class CommandInbox {
  constructor(
    private readonly state: DeviceStateDir,
    private readonly signerPem: () => string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  receive(payload: Buffer): CommandDecision {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      return { act: false, code: 'COMMAND_MALFORMED' };
    }
    const signer = this.signerPem();
    if (!signer) return { act: false, code: 'COMMAND_SIGNATURE_INVALID' };
    const now = this.now();
    const verdict = verifyCommand(parsed, signer, {
      now,
      seenIds: this.state.seenCommandIds(now),
      deviceId: this.state.deviceId,
    });
    if (!verdict.ok) return { act: false, code: verdict.code };
    this.state.rememberCommand(verdict.command.id, verdict.command.expiresAt, now);
    return { act: true, command: verdict.command };
  }
}

/** What a command can make the device do (the device client implements it). */
export interface CommandActions {
  disable(): void;
  /** Renews the certificate (the new one is used from the next session on). */
  renew(): Promise<void>;
  setStatusInterval(seconds: number): void;
}

export interface CommandResult {
  outcome: 'done' | 'rejected';
  detail?: string | undefined;
}

/** Settings a `config` command may change, with their allowed ranges. */
const SETTINGS: Record<string, { min: number; max: number; apply(a: CommandActions, v: number): void }> = {
  statusIntervalS: { min: 10, max: 86_400, apply: (a, v) => a.setStatusInterval(v) },
};

/** Carries out a verified command other than wipe (the device client wipes itself). */
export async function carryOut(command: SignedCommand, actions: CommandActions): Promise<CommandResult> {
  switch (command.type) {
    case 'ping':
      return { outcome: 'done' };
    case 'disable':
      actions.disable();
      return { outcome: 'done' };
    case 'rotate-cert':
      try {
        await actions.renew();
        return { outcome: 'done' };
      } catch (err) {
        return { outcome: 'rejected', detail: (err as { code?: string }).code ?? 'RENEWAL_FAILED' };
      }
    case 'config': {
      const entries = Object.entries(command.params);
      if (entries.some(([key]) => !SETTINGS[key]))
        return { outcome: 'rejected', detail: 'UNSUPPORTED_SETTING' };
      for (const [key, value] of entries) {
        const setting = SETTINGS[key]!;
        if (typeof value !== 'number' || !(value >= setting.min && value <= setting.max)) {
          return { outcome: 'rejected', detail: 'INVALID_SETTING' };
        }
      }
      for (const [key, value] of entries) SETTINGS[key]!.apply(actions, value as number);
      return { outcome: 'done' };
    }
    default:
      return { outcome: 'rejected', detail: 'UNSUPPORTED_COMMAND' };
  }
}

export function commandAck(id: string, status: 'done' | 'rejected', detail?: string): CommandAck {
  return detail === undefined ? { v: 1, id, status } : { v: 1, id, status, detail: detail.slice(0, 500) };
}
