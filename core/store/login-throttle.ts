// Failed sign-in attempts per presented username and source network: what the login throttle
// decides on (dashboard-api/auth/login-throttle.ts) and what check VG-API-009 reads. Rows are
// keyed by the name as typed, whether or not such an account exists, so a throttled unknown
// name and a throttled account look the same from outside.
import type { Db } from './database.js';

export interface ThrottleEntry {
  username: string;
  /** The source network key (an IPv4 address, an IPv6 /64). */
  source: string;
  failures: number;
  firstFailureAt: number;
  lastFailureAt: number;
  blockedUntil: number | null;
}

interface ThrottleRow {
  username: string;
  source: string;
  failures: number;
  first_failure_at: number;
  last_failure_at: number;
  blocked_until: number | null;
}

function fromRow(r: ThrottleRow): ThrottleEntry {
  return {
    username: r.username,
    source: r.source,
    failures: r.failures,
    firstFailureAt: r.first_failure_at,
    lastFailureAt: r.last_failure_at,
    blockedUntil: r.blocked_until,
  };
}

/** One account's recent failures, over every source. */
export interface AccountFailures {
  username: string;
  sources: number;
  failures: number;
  lastFailureAt: number;
}

export class LoginThrottleRepository {
  constructor(private readonly db: Db) {}

  get(username: string, source: string): ThrottleEntry | undefined {
    const row = this.db
      .prepare('SELECT * FROM login_throttle WHERE username = ? AND source = ?')
      .get(username, source) as ThrottleRow | undefined;
    return row && fromRow(row);
  }

  /**
   * Counts one failure. A row whose last failure is before `forgetBefore` starts again from one.
   * `blockFor(failures)` says until when the pair is blocked after this failure (or null).
   */
  recordFailure(
    username: string,
    source: string,
    at: number,
    forgetBefore: number,
    blockFor: (failures: number) => number | null,
  ): ThrottleEntry {
    return this.db
      .transaction(() => {
        const previous = this.get(username, source);
        const fresh = !previous || previous.lastFailureAt < forgetBefore;
        const failures = fresh ? 1 : previous.failures + 1;
        const blockedUntil = blockFor(failures);
        this.db
          .prepare(
            `INSERT INTO login_throttle (username, source, failures, first_failure_at, last_failure_at, blocked_until)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (username, source) DO UPDATE SET failures = excluded.failures,
               first_failure_at = excluded.first_failure_at, last_failure_at = excluded.last_failure_at,
               blocked_until = excluded.blocked_until`,
          )
          .run(username, source, failures, fresh ? at : previous.firstFailureAt, at, blockedUntil);
        return this.get(username, source)!;
      })
      .immediate();
  }

  /** Forgets the failures of one source, or of every source when none is given. */
  clear(username: string, source?: string): number {
    const result =
      source === undefined
        ? this.db.prepare('DELETE FROM login_throttle WHERE username = ?').run(username)
        : this.db
            .prepare('DELETE FROM login_throttle WHERE username = ? AND source = ?')
            .run(username, source);
    return result.changes;
  }

  /** How many sources are blocked for this username at `at`. */
  blockedSources(username: string, at: number): number {
    return (
      this.db
        .prepare('SELECT COUNT(*) AS n FROM login_throttle WHERE username = ? AND blocked_until > ?')
        .get(username, at) as { n: number }
    ).n;
  }

  /** Failures per username whose last failure from a source is at or after `since`. */
  failuresSince(since: number): AccountFailures[] {
    return (
      this.db
        .prepare(
          `SELECT username, COUNT(*) AS sources, SUM(failures) AS failures, MAX(last_failure_at) AS last
           FROM login_throttle WHERE last_failure_at >= ? GROUP BY username ORDER BY failures DESC`,
        )
        .all(since) as { username: string; sources: number; failures: number; last: number }[]
    ).map((r) => ({ username: r.username, sources: r.sources, failures: r.failures, lastFailureAt: r.last }));
  }

  /** Drops rows whose last failure is before `before` and that block nothing any more. */
  prune(before: number): number {
    return this.db
      .prepare(
        'DELETE FROM login_throttle WHERE last_failure_at < ? AND (blocked_until IS NULL OR blocked_until < ?)',
      )
      .run(before, before).changes;
  }
}
