// Staff accounts: role, password hash, TOTP state and lockout counters.
import type { Role } from '../domain.js';
import { VitalGateError } from '../errors.js';
import type { Db } from './database.js';

export interface User {
  username: string;
  role: Role;
  passwordHash: string;
  mustChangePassword: boolean;
  sealedTotpSecret: Buffer | null;
  totpEnrolledAt: number | null;
  lastTotpStep: number | null;
  failedLogins: number;
  lockedUntil: number | null;
  disabledAt: number | null;
  createdAt: number;
  updatedAt: number;
}

interface UserRow {
  username: string;
  role: Role;
  password_hash: string;
  must_change_password: number;
  sealed_totp_secret: Buffer | null;
  totp_enrolled_at: number | null;
  last_totp_step: number | null;
  failed_logins: number;
  locked_until: number | null;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
}

function fromRow(r: UserRow): User {
  return {
    username: r.username,
    role: r.role,
    passwordHash: r.password_hash,
    mustChangePassword: r.must_change_password === 1,
    sealedTotpSecret: r.sealed_totp_secret,
    totpEnrolledAt: r.totp_enrolled_at,
    lastTotpStep: r.last_totp_step,
    failedLogins: r.failed_logins,
    lockedUntil: r.locked_until,
    disabledAt: r.disabled_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,63}$/;

export class UserRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  add(user: { username: string; role: Role; passwordHash: string; mustChangePassword: boolean }): User {
    const t = this.now();
    try {
      this.db
        .prepare(
          'INSERT INTO users (username, role, password_hash, must_change_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(user.username, user.role, user.passwordHash, user.mustChangePassword ? 1 : 0, t, t);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new VitalGateError('USER_EXISTS', `user ${user.username} already exists`);
      }
      throw err;
    }
    return this.get(user.username)!;
  }

  get(username: string): User | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as
      UserRow | undefined;
    return row && fromRow(row);
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(fromRow);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  update(
    username: string,
    changes: Partial<
      Pick<
        User,
        | 'passwordHash'
        | 'mustChangePassword'
        | 'sealedTotpSecret'
        | 'totpEnrolledAt'
        | 'lastTotpStep'
        | 'failedLogins'
        | 'lockedUntil'
        | 'disabledAt'
        | 'role'
      >
    >,
  ): void {
    const columns: Record<string, string> = {
      passwordHash: 'password_hash',
      mustChangePassword: 'must_change_password',
      sealedTotpSecret: 'sealed_totp_secret',
      totpEnrolledAt: 'totp_enrolled_at',
      lastTotpStep: 'last_totp_step',
      failedLogins: 'failed_logins',
      lockedUntil: 'locked_until',
      disabledAt: 'disabled_at',
      role: 'role',
    };
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [key, value] of Object.entries(changes)) {
      const column = columns[key];
      if (!column) continue;
      sets.push(`${column} = ?`);
      params.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    }
    if (sets.length === 0) return;
    sets.push('updated_at = ?');
    params.push(this.now(), username);
    this.db.prepare(`UPDATE users SET ${sets.join(', ')} WHERE username = ?`).run(...params);
  }

  /**
   * Records a TOTP step as used if it is newer than the last one. False when the step (or a
   * later one) was used already: a code cannot be used twice.
   */
  consumeTotpStep(username: string, step: number): boolean {
    const result = this.db
      .prepare(
        'UPDATE users SET last_totp_step = ?, updated_at = ? WHERE username = ? AND (last_totp_step IS NULL OR last_totp_step < ?)',
      )
      .run(step, this.now(), username, step);
    return result.changes === 1;
  }
}
