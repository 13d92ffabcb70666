// Opaque server-side sessions. The token is 256 random bits shown once; the store keeps its
// SHA-256. Each request checks, in one indexed read: the row exists and has not ended, the idle
// timeout and the absolute lifetime (HIPAA automatic logoff), and that the account is still
// enabled. Ending a row (logout, disable, password reset, expiry) ends the session at once.
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AuditLog } from '../../core/audit.js';
import type { Role } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { ApiSessionRepository } from '../../core/store/api-sessions.js';
import type { UserRepository } from '../../core/store/users.js';
import { DEFAULT_STEP_UP_MAX_AGE_SECONDS } from './step-up.js';

const TOKEN_PREFIX = 'vgs_';
/** Last-seen is written at most this often per session. */
const TOUCH_EVERY_MS = 5_000;

export interface Principal {
  username: string;
  role: Role;
  sessionHash: string;
  createdAt: number;
  expiresAt: number;
  /** When the session last gave a fresh second factor (see auth/step-up.ts); null: never. */
  steppedUpAt: number | null;
  /** How long a step-up counts (the hub's stepUpMaxAgeSeconds). */
  stepUpMaxAgeSeconds: number;
}

export interface IssuedSession {
  token: string;
  expiresAt: number;
  idleTimeoutSeconds: number;
}

export interface SessionPolicy {
  sessionIdleMinutes: number;
  sessionMaxHours: number;
  /** Default DEFAULT_STEP_UP_MAX_AGE_SECONDS. */
  stepUpMaxAgeSeconds?: number;
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class SessionService extends EventEmitter<{ ended: [sessionHash: string, reason: string] }> {
  constructor(
    private readonly sessions: ApiSessionRepository,
    private readonly users: UserRepository,
    private readonly audit: AuditLog,
    private readonly policy: SessionPolicy,
    private readonly now: () => number,
  ) {
    super();
    this.setMaxListeners(0);
  }

  get idleMs(): number {
    return this.policy.sessionIdleMinutes * 60_000;
  }

  /** A new session; `steppedUp`: its sign-in was itself a fresh verified factor (a passkey). */
  create(username: string, source: string | undefined, options: { steppedUp?: boolean } = {}): IssuedSession {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const at = this.now();
    const expiresAt = at + this.policy.sessionMaxHours * 3_600_000;
    this.sessions.add({
      tokenHash: hashSessionToken(token),
      username,
      createdAt: at,
      lastSeenAt: at,
      expiresAt,
      source: source ?? null,
      steppedUpAt: options.steppedUp ? at : null,
    });
    return { token, expiresAt, idleTimeoutSeconds: this.policy.sessionIdleMinutes * 60 };
  }

  /** The principal behind a presented token; refuses ended, idle, expired and disabled sessions. */
  authenticate(token: string, source: string | undefined, options: { touch?: boolean } = {}): Principal {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) {
      throw new VitalGateError('UNAUTHENTICATED', 'a valid session is required');
    }
    const hash = hashSessionToken(token);
    const record = this.sessions.get(hash);
    if (!record || record.endedAt !== null) {
      throw new VitalGateError('UNAUTHENTICATED', 'a valid session is required');
    }
    const at = this.now();
    const cause =
      at >= record.expiresAt
        ? 'absolute_lifetime'
        : at - record.lastSeenAt >= this.idleMs
          ? 'idle_timeout'
          : null;
    if (cause) {
      this.end(hash, cause, `user:${record.username}`, source);
      throw new VitalGateError('SESSION_EXPIRED', 'the session expired; log in again', { cause });
    }
    const user = this.users.get(record.username);
    if (!user || user.disabledAt !== null) {
      this.end(hash, 'account_disabled', `user:${record.username}`, source);
      throw new VitalGateError('UNAUTHENTICATED', 'a valid session is required');
    }
    if (options.touch !== false && at - record.lastSeenAt >= TOUCH_EVERY_MS) this.sessions.touch(hash, at);
    return {
      username: user.username,
      role: user.role,
      sessionHash: hash,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      steppedUpAt: record.steppedUpAt,
      stepUpMaxAgeSeconds: this.policy.stepUpMaxAgeSeconds ?? DEFAULT_STEP_UP_MAX_AGE_SECONDS,
    };
  }

  /** Records that a live session just gave a fresh second factor, and audits it. */
  markSteppedUp(
    sessionHash: string,
    method: 'totp' | 'passkey',
    source: string | undefined,
    passkeyId?: string,
  ): number {
    const record = this.sessions.get(sessionHash);
    const at = this.now();
    if (!record || !this.sessions.markSteppedUp(sessionHash, at)) {
      throw new VitalGateError('UNAUTHENTICATED', 'a valid session is required');
    }
    this.audit.append({
      actor: `user:${record.username}`,
      action: 'auth.step_up',
      target: `user:${record.username}`,
      outcome: 'success',
      source,
      details: { method, ...(passkeyId ? { passkey: passkeyId } : {}) },
    });
    return at;
  }

  /** Whether a session is still usable, without counting as activity (live streams). */
  isLive(sessionHash: string): boolean {
    const record = this.sessions.get(sessionHash);
    if (!record || record.endedAt !== null) return false;
    const at = this.now();
    return at < record.expiresAt && at - record.lastSeenAt < this.idleMs;
  }

  end(sessionHash: string, reason: string, actor: string, source?: string): void {
    const record = this.sessions.get(sessionHash);
    if (!record || !this.sessions.end(sessionHash, this.now(), reason)) return;
    this.audit.append({
      actor,
      action: reason === 'logout' ? 'auth.logout' : 'auth.session.end',
      target: `user:${record.username}`,
      outcome: 'success',
      source,
      details: { reason },
    });
    this.emit('ended', sessionHash, reason);
  }

  /** Ends every session of a user (disable, password reset, MFA reset). */
  endAllOf(username: string, reason: string, actor: string): number {
    const live = this.sessions.listLive(0, username);
    const n = this.sessions.endAllOf(username, this.now(), reason);
    if (n > 0) {
      this.audit.append({
        actor,
        action: 'auth.session.end',
        target: `user:${username}`,
        outcome: 'success',
        details: { reason, sessions: n },
      });
    }
    for (const s of live) this.emit('ended', s.tokenHash, reason);
    return n;
  }

  liveCount(): number {
    return this.sessions.listLive(this.now()).length;
  }
}
