// The lifecycle of an alert after it is raised: snoozes, a clinician's resolve, the rules'
// auto-clear, re-notifications. Reasons are sealed by the caller under the patient's key; this
// repository keeps the bytes.
import type { Db } from './database.js';

export type AlertEventKind = 'snoozed' | 'snooze_ended' | 'renotified' | 'resolved' | 'auto_cleared';

export interface AlertEventRecord {
  id: number;
  alertId: number;
  at: number;
  kind: AlertEventKind;
  actor: string | null;
  until: number | null;
  keyVersion: number | null;
  sealedReason: Buffer | null;
}

interface Row {
  id: number;
  alert_id: number;
  at: number;
  kind: AlertEventKind;
  actor: string | null;
  until: number | null;
  key_version: number | null;
  sealed_reason: Buffer | null;
}

const fromRow = (r: Row): AlertEventRecord => ({
  id: r.id,
  alertId: r.alert_id,
  at: r.at,
  kind: r.kind,
  actor: r.actor,
  until: r.until,
  keyVersion: r.key_version,
  sealedReason: r.sealed_reason,
});

export class AlertEventRepository {
  constructor(private readonly db: Db) {}

  add(e: Omit<AlertEventRecord, 'id'>): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO alert_events (alert_id, at, kind, actor, until, key_version, sealed_reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(e.alertId, e.at, e.kind, e.actor, e.until, e.keyVersion, e.sealedReason).lastInsertRowid,
    );
  }

  forAlert(alertId: number): AlertEventRecord[] {
    return (
      this.db.prepare('SELECT * FROM alert_events WHERE alert_id = ? ORDER BY id').all(alertId) as Row[]
    ).map(fromRow);
  }

  /** Snooze end and resolver of an alert (columns of `alerts` this layer owns). */
  state(alertId: number): { snoozedUntil: number | null; clearedBy: string | null } | undefined {
    const row = this.db.prepare('SELECT snoozed_until, cleared_by FROM alerts WHERE id = ?').get(alertId) as
      { snoozed_until: number | null; cleared_by: string | null } | undefined;
    return row && { snoozedUntil: row.snoozed_until, clearedBy: row.cleared_by };
  }

  /** Snoozes an alert whose condition has not cleared; false if it has. */
  snooze(alertId: number, until: number): boolean {
    return (
      this.db
        .prepare('UPDATE alerts SET snoozed_until = ? WHERE id = ? AND cleared_at IS NULL')
        .run(until, alertId).changes === 1
    );
  }

  /** Ends a snooze that is due; false if another caller ended it first (so it is handled once). */
  endSnooze(alertId: number, dueBy: number): boolean {
    return (
      this.db
        .prepare(
          'UPDATE alerts SET snoozed_until = NULL WHERE id = ? AND snoozed_until IS NOT NULL AND snoozed_until <= ?',
        )
        .run(alertId, dueBy).changes === 1
    );
  }

  /** Alert ids whose snooze has ended by `now`. */
  dueSnoozes(now: number): number[] {
    return (
      this.db
        .prepare(
          'SELECT id FROM alerts WHERE snoozed_until IS NOT NULL AND snoozed_until <= ? ORDER BY snoozed_until',
        )
        .all(now) as { id: number }[]
    ).map((r) => r.id);
  }

  /** A clinician resolves an alert whose condition has not cleared; false if it has. */
  resolve(alertId: number, by: string, at: number): boolean {
    return (
      this.db
        .prepare(
          "UPDATE alerts SET status = 'cleared', cleared_at = ?, cleared_by = ?, snoozed_until = NULL WHERE id = ? AND cleared_at IS NULL",
        )
        .run(at, by, alertId).changes === 1
    );
  }
}
