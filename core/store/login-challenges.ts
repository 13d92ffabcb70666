// The steps between a correct password and a session: a first-login password change, TOTP
// enrollment (the pending secret sealed until the first code confirms it) and the TOTP check.
// Challenge ids are shown once and stored only as SHA-256 hashes.
import type { Db } from './database.js';

export type LoginStage = 'password_change' | 'totp_enroll' | 'totp';

export interface LoginChallengeRecord {
  idHash: string;
  username: string;
  stage: LoginStage;
  sealedPendingSecret: Buffer | null;
  attempts: number;
  source: string | null;
  createdAt: number;
  expiresAt: number;
  spentAt: number | null;
}

interface ChallengeRow {
  id_hash: string;
  username: string;
  stage: LoginStage;
  sealed_pending_secret: Buffer | null;
  attempts: number;
  source: string | null;
  created_at: number;
  expires_at: number;
  spent_at: number | null;
}

export class LoginChallengeRepository {
  constructor(private readonly db: Db) {}

  add(record: Omit<LoginChallengeRecord, 'attempts' | 'spentAt'>): void {
    this.db
      .prepare(
        'INSERT INTO login_challenges (id_hash, username, stage, sealed_pending_secret, source, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.idHash,
        record.username,
        record.stage,
        record.sealedPendingSecret,
        record.source,
        record.createdAt,
        record.expiresAt,
      );
  }

  get(idHash: string): LoginChallengeRecord | undefined {
    const r = this.db.prepare('SELECT * FROM login_challenges WHERE id_hash = ?').get(idHash) as
      ChallengeRow | undefined;
    return (
      r && {
        idHash: r.id_hash,
        username: r.username,
        stage: r.stage,
        sealedPendingSecret: r.sealed_pending_secret,
        attempts: r.attempts,
        source: r.source,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        spentAt: r.spent_at,
      }
    );
  }

  /** Counts a failed attempt; returns the new count. */
  fail(idHash: string): number {
    const row = this.db
      .prepare('UPDATE login_challenges SET attempts = attempts + 1 WHERE id_hash = ? RETURNING attempts')
      .get(idHash) as { attempts: number } | undefined;
    return row?.attempts ?? 0;
  }

  /** Spends an unspent, unexpired challenge. True for exactly one caller. */
  spend(idHash: string, at: number): boolean {
    return (
      this.db
        .prepare(
          'UPDATE login_challenges SET spent_at = ? WHERE id_hash = ? AND spent_at IS NULL AND expires_at > ?',
        )
        .run(at, idHash, at).changes === 1
    );
  }

  /** Voids a user's open challenges (a new login, a password reset). */
  voidOpen(username: string, at: number): void {
    this.db
      .prepare('UPDATE login_challenges SET spent_at = ? WHERE username = ? AND spent_at IS NULL')
      .run(at, username);
  }

  /** Drops challenges that ended before `before`. */
  prune(before: number): number {
    return this.db
      .prepare('DELETE FROM login_challenges WHERE expires_at < ? OR (spent_at IS NOT NULL AND spent_at < ?)')
      .run(before, before).changes;
  }
}
