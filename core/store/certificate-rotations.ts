// The rotate-cert command the hub sent for a device certificate in the renewal window: at most
// one per certificate, recorded before it is sent (so a restart never sends a second one).
import type { Db } from './database.js';

export interface CertificateRotation {
  serial: string;
  deviceId: string;
  commandId: string;
  /** The device's answer (`acked`, `rejected`, `expired`, `not_connected`); null while waiting. */
  outcome: string | null;
  sentAt: number;
}

export class CertificateRotationRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records the command for this certificate; false when one was recorded before. */
  record(serial: string, deviceId: string, commandId: string): boolean {
    return (
      this.db
        .prepare(
          'INSERT OR IGNORE INTO certificate_rotations (serial, device_id, command_id, sent_at) VALUES (?, ?, ?, ?)',
        )
        .run(serial, deviceId, commandId, this.now()).changes === 1
    );
  }

  settle(serial: string, outcome: string): void {
    this.db.prepare('UPDATE certificate_rotations SET outcome = ? WHERE serial = ?').run(outcome, serial);
  }

  /** Forgets a command that never went out. */
  release(serial: string): void {
    this.db.prepare('DELETE FROM certificate_rotations WHERE serial = ?').run(serial);
  }

  get(serial: string): CertificateRotation | undefined {
    const row = this.db.prepare('SELECT * FROM certificate_rotations WHERE serial = ?').get(serial) as
      | { serial: string; device_id: string; command_id: string; outcome: string | null; sent_at: number }
      | undefined;
    return (
      row && {
        serial: row.serial,
        deviceId: row.device_id,
        commandId: row.command_id,
        outcome: row.outcome,
        sentAt: row.sent_at,
      }
    );
  }
}
