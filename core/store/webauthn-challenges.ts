// WebAuthn ceremony challenges: 32 random bytes the hub hands out and the authenticator signs.
// Stored only as SHA-256 hashes, valid for a short time, bound to what they were issued for (a
// registration or step-up: the user and the session; a sign-in: nobody yet) and spent at most
// once, atomically, so a replayed or borrowed assertion is refused.
import type { Db } from './database.js';

export type WebAuthnPurpose = 'register' | 'sign_in' | 'step_up';

export interface WebAuthnChallengeRecord {
  challengeHash: string;
  purpose: WebAuthnPurpose;
  username: string | null;
  sessionHash: string | null;
  createdAt: number;
  expiresAt: number;
}

export class WebAuthnChallengeRepository {
  constructor(private readonly db: Db) {}

  add(record: WebAuthnChallengeRecord): void {
    this.db
      .prepare(
        'INSERT INTO webauthn_challenges (challenge_hash, purpose, username, session_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.challengeHash,
        record.purpose,
        record.username,
        record.sessionHash,
        record.createdAt,
        record.expiresAt,
      );
  }

  /**
   * Spends a live challenge of this purpose (and session, when given); undefined when it is
   * unknown, spent, expired, or was issued for something else.
   */
  take(
    challengeHash: string,
    purpose: WebAuthnPurpose,
    at: number,
    sessionHash: string | null = null,
  ): WebAuthnChallengeRecord | undefined {
    const row = this.db
      .prepare(
        `UPDATE webauthn_challenges SET spent_at = ?
           WHERE challenge_hash = ? AND purpose = ? AND spent_at IS NULL AND expires_at > ?
             AND session_hash IS ?
         RETURNING challenge_hash, purpose, username, session_hash, created_at, expires_at`,
      )
      .get(at, challengeHash, purpose, at, sessionHash) as
      | {
          challenge_hash: string;
          purpose: WebAuthnPurpose;
          username: string | null;
          session_hash: string | null;
          created_at: number;
          expires_at: number;
        }
      | undefined;
    return (
      row && {
        challengeHash: row.challenge_hash,
        purpose: row.purpose,
        username: row.username,
        sessionHash: row.session_hash,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      }
    );
  }

  /** Deletes challenges that ended before `before` (spent or expired); returns how many. */
  prune(before: number): number {
    return this.db.prepare('DELETE FROM webauthn_challenges WHERE expires_at < ?').run(before).changes;
  }
}
