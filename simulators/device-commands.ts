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

export function commandAck(id: string, status: 'done' | 'rejected', detail?: string): CommandAck {
  return detail === undefined ? { v: 1, id, status } : { v: 1, id, status, detail: detail.slice(0, 500) };
}
