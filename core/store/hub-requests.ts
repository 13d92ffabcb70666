// Requests for the running hub, from the CLI in another shell (`vitalgate device wipe`, `device
// ping`, `patient erase`): the CLI queues one here, the running hub claims it, carries it out and
// writes the result back. A request the hub has not claimed can be cancelled, atomically, so it is
// carried out exactly once or not at all.
import type { Db } from './database.js';

export type HubRequestState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface HubRequest {
  id: number;
  kind: string;
  target: string;
  params: Record<string, unknown>;
  actor: string;
  state: HubRequestState;
  /** The outcome (done) or `{ code, message }` (failed). */
  result: Record<string, unknown> | null;
  createdAt: number;
  claimedAt: number | null;
  finishedAt: number | null;
}

interface HubRequestRow {
  id: number;
  kind: string;
  target: string;
  params: string;
  actor: string;
  state: HubRequestState;
  result: string | null;
  created_at: number;
  claimed_at: number | null;
  finished_at: number | null;
}

const fromRow = (r: HubRequestRow): HubRequest => ({
  id: r.id,
  kind: r.kind,
  target: r.target,
  params: JSON.parse(r.params) as Record<string, unknown>,
  actor: r.actor,
  state: r.state,
  result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
  createdAt: r.created_at,
  claimedAt: r.claimed_at,
  finishedAt: r.finished_at,
});

export class HubRequestRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  enqueue(request: { kind: string; target: string; params: Record<string, unknown>; actor: string }): number {
    const result = this.db
      .prepare(
        "INSERT INTO hub_requests (kind, target, params, actor, state, created_at) VALUES (?, ?, ?, ?, 'queued', ?)",
      )
      .run(request.kind, request.target, JSON.stringify(request.params), request.actor, this.now());
    return Number(result.lastInsertRowid);
  }

  get(id: number): HubRequest | undefined {
    const row = this.db.prepare('SELECT * FROM hub_requests WHERE id = ?').get(id) as
      HubRequestRow | undefined;
    return row && fromRow(row);
  }

  /** Takes the oldest queued request (one statement, so two claimers never take the same one). */
  claimNext(): HubRequest | undefined {
    const row = this.db
      .prepare(
        "UPDATE hub_requests SET state = 'running', claimed_at = ? WHERE id = (SELECT id FROM hub_requests WHERE state = 'queued' ORDER BY id LIMIT 1) AND state = 'queued' RETURNING *",
      )
      .get(this.now()) as HubRequestRow | undefined;
    return row && fromRow(row);
  }

  finish(id: number, state: 'done' | 'failed', result: Record<string, unknown>): void {
    this.db
      .prepare(
        "UPDATE hub_requests SET state = ?, result = ?, finished_at = ? WHERE id = ? AND state = 'running'",
      )
      .run(state, JSON.stringify(result), this.now(), id);
  }

  /** Cancels a request no hub has claimed yet; false when one already has. */
  cancelIfQueued(id: number): boolean {
    return (
      this.db
        .prepare(
          "UPDATE hub_requests SET state = 'cancelled', finished_at = ? WHERE id = ? AND state = 'queued'",
        )
        .run(this.now(), id).changes === 1
    );
  }

  /** Requests a hub claimed and never finished (it stopped meanwhile) are marked failed. */
  failAbandoned(result: Record<string, unknown>): number {
    return this.db
      .prepare(
        "UPDATE hub_requests SET state = 'failed', result = ?, finished_at = ? WHERE state = 'running'",
      )
      .run(JSON.stringify(result), this.now()).changes;
  }

  /** Deletes finished requests older than `before` (epoch ms). */
  pruneFinished(before: number): number {
    return this.db
      .prepare("DELETE FROM hub_requests WHERE state IN ('done', 'failed', 'cancelled') AND finished_at < ?")
      .run(before).changes;
  }
}
