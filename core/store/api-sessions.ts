// Staff sessions of the HTTPS API: opaque tokens stored only as SHA-256 hashes, so a stolen
// database yields no usable token, and ending a row ends the session at once (logout, disable,
// password reset, idle timeout, absolute lifetime).
import type { Db } from './database.js';

export interface ApiSessionRecord {
  tokenHash: string;
  username: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  source: string | null;
  endedAt: number | null;
  endReason: string | null;
  /** When the session last gave a fresh second factor (step-up); null: never. */
  steppedUpAt: number | null;
}

interface SessionRow {
  token_hash: string;
  username: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  source: string | null;
  ended_at: number | null;
  end_reason: string | null;
  stepped_up_at: number | null;
}

function fromRow(r: SessionRow): ApiSessionRecord {
  return {
    tokenHash: r.token_hash,
    username: r.username,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
    source: r.source,
    endedAt: r.ended_at,
    endReason: r.end_reason,
    steppedUpAt: r.stepped_up_at ?? null,
  };
}

export class ApiSessionRepository {
  private readonly byHash;
  private readonly touchStatement;

  constructor(private readonly db: Db) {
    this.byHash = db.prepare('SELECT * FROM api_sessions WHERE token_hash = ?');
    this.touchStatement = db.prepare(
      'UPDATE api_sessions SET last_seen_at = ? WHERE token_hash = ? AND ended_at IS NULL AND last_seen_at < ?',
    );
  }

  add(
    record: Omit<ApiSessionRecord, 'endedAt' | 'endReason' | 'steppedUpAt'> & { steppedUpAt?: number | null },
  ): void {
    this.db
      .prepare(
        'INSERT INTO api_sessions (token_hash, username, created_at, last_seen_at, expires_at, source, stepped_up_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.tokenHash,
        record.username,
        record.createdAt,
        record.lastSeenAt,
        record.expiresAt,
        record.source,
        record.steppedUpAt ?? null,
      );
  }

  get(tokenHash: string): ApiSessionRecord | undefined {
    const row = this.byHash.get(tokenHash) as SessionRow | undefined;
    return row && fromRow(row);
  }

  touch(tokenHash: string, at: number): void {
    this.touchStatement.run(at, tokenHash, at);
  }

  /** Records a fresh second factor on a live session; false when it has ended. */
  markSteppedUp(tokenHash: string, at: number): boolean {
    return (
      this.db
        .prepare('UPDATE api_sessions SET stepped_up_at = ? WHERE token_hash = ? AND ended_at IS NULL')
        .run(at, tokenHash).changes === 1
    );
  }

  /** The staff device a session was opened from (api_sessions.staff_device_id); null: unknown. */
  staffDeviceOf(tokenHash: string): string | null {
    const row = this.db.prepare('SELECT * FROM api_sessions WHERE token_hash = ?').get(tokenHash) as
      { staff_device_id?: string | null } | undefined;
    return row?.staff_device_id ?? null;
  }

  /** Ends one live session; false when it had ended already. */
  end(tokenHash: string, at: number, reason: string): boolean {
    return (
      this.db
        .prepare(
          'UPDATE api_sessions SET ended_at = ?, end_reason = ? WHERE token_hash = ? AND ended_at IS NULL',
        )
        .run(at, reason, tokenHash).changes === 1
    );
  }

  /** Ends every live session of a user; returns how many. */
  endAllOf(username: string, at: number, reason: string): number {
    return this.db
      .prepare('UPDATE api_sessions SET ended_at = ?, end_reason = ? WHERE username = ? AND ended_at IS NULL')
      .run(at, reason, username).changes;
  }

  listLive(at: number, username?: string): ApiSessionRecord[] {
    const rows = (
      username
        ? this.db
            .prepare(
              'SELECT * FROM api_sessions WHERE ended_at IS NULL AND expires_at > ? AND username = ? ORDER BY created_at',
            )
            .all(at, username)
        : this.db
            .prepare(
              'SELECT * FROM api_sessions WHERE ended_at IS NULL AND expires_at > ? ORDER BY created_at',
            )
            .all(at)
    ) as SessionRow[];
    return rows.map(fromRow);
  }
}
