// Escalation ladders per severity (who is notified how long after the alert is raised) and the
// steps of each alert's ladder. Steps are stored when the alert is raised and change state with
// conditional updates, so each fires once across restarts and concurrent tickers.
import type { Db } from './database.js';

export interface LadderStep {
  step: number;
  afterS: number;
  /** `assigned` (the patient's clinicians), `role:on_call` or `role:team_lead`. */
  target: string;
}

export type StepState = 'pending' | 'fired' | 'cancelled';

export interface EscalationStep {
  id: number;
  alertId: number;
  step: number;
  target: string;
  dueAt: number;
  state: StepState;
  doneAt: number | null;
  recipients: string[] | null;
}

interface StepRow {
  id: number;
  alert_id: number;
  step: number;
  target: string;
  due_at: number;
  state: StepState;
  done_at: number | null;
  recipients: string | null;
}

const fromRow = (r: StepRow): EscalationStep => ({
  id: r.id,
  alertId: r.alert_id,
  step: r.step,
  target: r.target,
  dueAt: r.due_at,
  state: r.state,
  doneAt: r.done_at,
  recipients: r.recipients === null ? null : (JSON.parse(r.recipients) as string[]),
});

export class EscalationRepository {
  constructor(private readonly db: Db) {}

  /** The stored ladder of a severity, or undefined when none is stored (the built-in one applies). */
  ladder(severity: string): LadderStep[] | undefined {
    const rows = this.db
      .prepare('SELECT step, after_s, target FROM escalation_ladders WHERE severity = ? ORDER BY step')
      .all(severity) as { step: number; after_s: number; target: string }[];
    return rows.length ? rows.map((r) => ({ step: r.step, afterS: r.after_s, target: r.target })) : undefined;
  }

  setLadder(severity: string, steps: readonly LadderStep[]): void {
    this.db.prepare('DELETE FROM escalation_ladders WHERE severity = ?').run(severity);
    const insert = this.db.prepare(
      'INSERT INTO escalation_ladders (severity, step, after_s, target) VALUES (?, ?, ?, ?)',
    );
    for (const s of steps) insert.run(severity, s.step, s.afterS, s.target);
  }

  /** Stores an alert's steps; a step already stored is kept as it is (idempotent). */
  schedule(alertId: number, steps: readonly { step: number; target: string; dueAt: number }[]): void {
    const insert = this.db.prepare(
      "INSERT INTO escalation_steps (alert_id, step, target, due_at, state) VALUES (?, ?, ?, ?, 'pending') ON CONFLICT (alert_id, step) DO NOTHING",
    );
    for (const s of steps) insert.run(alertId, s.step, s.target, s.dueAt);
  }

  hasSteps(alertId: number): boolean {
    return (
      this.db.prepare('SELECT 1 FROM escalation_steps WHERE alert_id = ? LIMIT 1').get(alertId) !== undefined
    );
  }

  due(now: number): EscalationStep[] {
    return (
      this.db
        .prepare("SELECT * FROM escalation_steps WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id")
        .all(now) as StepRow[]
    ).map(fromRow);
  }

  forAlert(alertId: number): EscalationStep[] {
    return (
      this.db
        .prepare('SELECT * FROM escalation_steps WHERE alert_id = ? ORDER BY step')
        .all(alertId) as StepRow[]
    ).map(fromRow);
  }

  /** pending → fired, once: false if it was fired or cancelled meanwhile. */
  fire(id: number, at: number, recipients: readonly string[]): boolean {
    return (
      this.db
        .prepare(
          "UPDATE escalation_steps SET state = 'fired', done_at = ?, recipients = ? WHERE id = ? AND state = 'pending'",
        )
        .run(at, JSON.stringify(recipients), id).changes === 1
    );
  }

  /** Cancels an alert's pending steps (acknowledged or resolved). */
  cancel(alertId: number, at: number): number {
    return this.db
      .prepare(
        "UPDATE escalation_steps SET state = 'cancelled', done_at = ? WHERE alert_id = ? AND state = 'pending'",
      )
      .run(at, alertId).changes;
  }
}
