// What adaptive access learns from a user's past: the source addresses and the hours of their
// PHI reads that were served, read from the audit chain (one row per source and clock hour).
import type { Db } from './database.js';

export class PhiReadHistory {
  private readonly statement;

  constructor(db: Db) {
    this.statement = db.prepare(
      `SELECT source, MIN(at) AS at FROM audit_log
       WHERE actor = ? AND action = 'phi.read' AND outcome = 'success' AND at >= ?
       GROUP BY source, at / 3600000`,
    );
  }

  /** Each source address and clock hour the user read PHI from since `since`, with one time in it. */
  of(username: string, since: number): { source: string | null; at: number }[] {
    return this.statement.all(`user:${username}`, since) as { source: string | null; at: number }[];
  }
}
