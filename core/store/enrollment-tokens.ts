// One-time enrollment tokens, stored only as SHA-256 hashes. Spending is one conditional
// UPDATE, so two concurrent uses of one token cannot both succeed.
import type { Db } from './database.js';

export interface EnrollmentTokenRecord {
  tokenHash: string;
  deviceId: string;
  expiresAt: number;
  spentAt: number | null;
  createdBy: string;
  createdAt: number;
}

interface TokenRow {
  token_hash: string;
  device_id: string;
  expires_at: number;
  spent_at: number | null;
  created_by: string;
  created_at: number;
}

function fromRow(r: TokenRow): EnrollmentTokenRecord {
  return {
    tokenHash: r.token_hash,
    deviceId: r.device_id,
    expiresAt: r.expires_at,
    spentAt: r.spent_at,
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

export class EnrollmentTokenRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  add(record: { tokenHash: string; deviceId: string; expiresAt: number; createdBy: string }): void {
    this.db
      .prepare(
        'INSERT INTO enrollment_tokens (token_hash, device_id, expires_at, created_by, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(record.tokenHash, record.deviceId, record.expiresAt, record.createdBy, this.now());
  }

  get(tokenHash: string): EnrollmentTokenRecord | undefined {
    const row = this.db.prepare('SELECT * FROM enrollment_tokens WHERE token_hash = ?').get(tokenHash) as
      TokenRow | undefined;
    return row && fromRow(row);
  }

  /** Spends the token if it is unspent and unexpired. True for exactly one caller. */
  spend(tokenHash: string, deviceId: string): boolean {
    const t = this.now();
    const result = this.db
      .prepare(
        'UPDATE enrollment_tokens SET spent_at = ? WHERE token_hash = ? AND device_id = ? AND spent_at IS NULL AND expires_at > ?',
      )
      .run(t, tokenHash, deviceId, t);
    return result.changes === 1;
  }

  /** Gives a spent token back, when issuing failed after it was spent. */
  unspend(tokenHash: string): void {
    this.db.prepare('UPDATE enrollment_tokens SET spent_at = NULL WHERE token_hash = ?').run(tokenHash);
  }

  /** Unspent tokens of a device are voided when a new one is issued. */
  voidUnspent(deviceId: string): void {
    this.db
      .prepare(
        'UPDATE enrollment_tokens SET expires_at = ? WHERE device_id = ? AND spent_at IS NULL AND expires_at > ?',
      )
      .run(this.now(), deviceId, this.now());
  }

  /** Whether the device holds a token that can still be spent. */
  hasUsable(deviceId: string, at: number): boolean {
    return (
      this.db
        .prepare(
          'SELECT 1 FROM enrollment_tokens WHERE device_id = ? AND spent_at IS NULL AND expires_at > ?',
        )
        .get(deviceId, at) !== undefined
    );
  }

  listExpiredUnspent(at: number): EnrollmentTokenRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM enrollment_tokens WHERE spent_at IS NULL AND expires_at <= ?')
        .all(at) as TokenRow[]
    ).map(fromRow);
  }
}
