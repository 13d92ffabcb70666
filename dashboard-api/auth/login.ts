// Login: password, then the steps the account still owes (a first-login password change, TOTP
// enrollment), then the TOTP code, then a session. Failures of the password or the code count in
// the login throttle, per username and source network (login-throttle.ts). Refusals are alike
// toward the caller in status, body and time: the password is always hashed (against a dummy
// hash for an unknown name), the throttle is asked only afterwards and keys on the name as typed,
// so an unknown name and an account answer INVALID_CREDENTIALS, then ACCOUNT_LOCKED, alike. The
// audit entry keeps the precise cause. `unlock` takes both factors at once and is never throttled:
// the owner's way in while an attacker keeps their name blocked.
import { createHash, randomBytes } from 'node:crypto';
import type { AuditLog } from '../../core/audit.js';
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import type { Keyring } from '../../core/keyring.js';
import { hashPassword, verifyPassword } from '../../core/passwords.js';
import type { LoginChallengeRepository, LoginStage } from '../../core/store/login-challenges.js';
import type { SecurityEventRepository } from '../../core/store/security-events.js';
import type { User, UserRepository } from '../../core/store/users.js';
import type { LoginThrottle } from './login-throttle.js';
import { checkPasswordPolicy } from './password-policy.js';
import type { IssuedSession, SessionService } from './sessions.js';
import type { TotpVerifier } from './totp.js';

const CHALLENGE_TTL_MS = 5 * 60_000;
const MAX_CHALLENGE_ATTEMPTS = 5;

export type LoginNext = 'password_change' | 'mfa_enroll' | 'mfa';

export interface LoginStep {
  next: LoginNext;
  challengeId: string;
  expiresAt: number;
  /** Only for `mfa_enroll`: the new secret, shown this once. */
  totp?: { secret: string; otpauthUri: string };
}

export interface LoginDeps {
  users: UserRepository;
  challenges: LoginChallengeRepository;
  sessions: SessionService;
  totp: TotpVerifier;
  keyring: Keyring;
  audit: AuditLog;
  securityEvents: SecurityEventRepository;
  throttle: LoginThrottle;
  config: Pick<HubConfig, 'lockoutThreshold' | 'lockoutMinutes'>;
  now: () => number;
}

const NEXT_OF_STAGE: Record<LoginStage, LoginNext> = {
  password_change: 'password_change',
  totp_enroll: 'mfa_enroll',
  totp: 'mfa',
};

function hashId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** The keyring purpose a user's sealed TOTP secret is bound to. */
export function totpPurpose(username: string): string {
  return `totp:${username}`;
}

export class LoginService {
  /** Hashed once, up front, with the same scrypt parameters as every account's hash. */
  private readonly dummyHash: Promise<string> = hashPassword(randomBytes(16).toString('hex'));

  constructor(private readonly deps: LoginDeps) {}

  /** Checks the password against the account's hash, or the dummy one: the same work either way. */
  private async passwordMatches(user: User | undefined, password: string): Promise<boolean> {
    const ok = await verifyPassword(password, user?.passwordHash ?? (await this.dummyHash));
    return ok && user !== undefined;
  }

  async login(username: string, password: string, source: string | undefined): Promise<LoginStep> {
    const { users, now } = this.deps;
    const user = users.get(username);
    const ok = await this.passwordMatches(user, password);
    // Asked after the hash, for every name alike: a block never answers faster than a check.
    this.refuseIfThrottled(username, source, 'auth.login');
    if (!user || !ok || user.disabledAt !== null) {
      const cause = !user ? 'unknown_user' : !ok ? 'wrong_password' : 'disabled';
      this.recordFailure(username, source, 'auth.login', cause);
      throw invalidCredentials();
    }
    this.deps.challenges.voidOpen(username, now());
    const stage: LoginStage = user.mustChangePassword
      ? 'password_change'
      : user.sealedTotpSecret === null
        ? 'totp_enroll'
        : 'totp';
    this.auditSelf(username, 'auth.login', 'success', source, {
      step: 'password',
      next: NEXT_OF_STAGE[stage],
    });
    return this.openChallenge(user, stage, source);
  }

  /** The first-login password change: replaces the one-time password. */
  async changeFirstPassword(challengeId: string, newPassword: string, source: string | undefined) {
    const { user } = this.takeChallenge(challengeId, 'password_change', source);
    checkPasswordPolicy(newPassword, user.username);
    if (await verifyPassword(newPassword, user.passwordHash)) {
      throw new VitalGateError('PASSWORD_TOO_WEAK', 'choose a password other than the one-time password', {
        rule: 'reused',
      });
    }
    this.deps.users.update(user.username, {
      passwordHash: await hashPassword(newPassword),
      mustChangePassword: false,
    });
    this.deps.audit.append({
      actor: `user:${user.username}`,
      action: 'auth.password.change',
      target: `user:${user.username}`,
      outcome: 'success',
      source,
      details: { firstLogin: true },
    });
    const fresh = this.deps.users.get(user.username)!;
    return this.openChallenge(fresh, fresh.sealedTotpSecret === null ? 'totp_enroll' : 'totp', source);
  }

  /** The TOTP step (and, for `mfa_enroll`, the confirmation of the new secret). */
  verifyMfa(
    challengeId: string,
    code: string,
    source: string | undefined,
  ): IssuedSession & { username: string } {
    const { users, keyring, now } = this.deps;
    const idHash = hashId(challengeId);
    const challenge = this.deps.challenges.get(idHash);
    if (
      !challenge ||
      challenge.spentAt !== null ||
      challenge.expiresAt <= now() ||
      challenge.stage === 'password_change'
    ) {
      this.deps.audit.append({
        actor: challenge ? `user:${challenge.username}` : 'anonymous',
        action: 'auth.mfa',
        outcome: 'denied',
        source,
        details: { code: 'CHALLENGE_INVALID' },
      });
      throw new VitalGateError(
        'CHALLENGE_INVALID',
        'the login challenge is invalid or expired; log in again',
      );
    }
    const user = users.get(challenge.username)!;
    this.refuseIfThrottled(user.username, source, 'auth.mfa');
    const sealed = challenge.stage === 'totp_enroll' ? challenge.sealedPendingSecret : user.sealedTotpSecret;
    if (!sealed)
      throw new VitalGateError('CHALLENGE_INVALID', 'the login challenge is invalid; log in again');
    const secret = keyring.openSecret(totpPurpose(user.username), sealed).toString('utf8');
    const step = this.deps.totp.verify(code, secret);
    if (step === undefined) {
      const attempts = this.deps.challenges.fail(idHash);
      if (attempts >= MAX_CHALLENGE_ATTEMPTS) this.deps.challenges.spend(idHash, now());
      this.recordFailure(user.username, source, 'auth.mfa', 'wrong_code');
      throw new VitalGateError('MFA_CODE_INVALID', 'the code is not valid');
    }
    // A code (its 30-second step, or an earlier one) is good once. The step is consumed first, so
    // two concurrent requests with one code cannot both pass.
    if (!users.consumeTotpStep(user.username, step)) {
      this.recordFailure(user.username, source, 'auth.mfa', 'code_reused');
      throw new VitalGateError('MFA_CODE_REUSED', 'this code was used already; wait for the next one');
    }
    if (!this.deps.challenges.spend(idHash, now())) {
      throw new VitalGateError(
        'CHALLENGE_INVALID',
        'the login challenge is invalid or expired; log in again',
      );
    }
    if (challenge.stage === 'totp_enroll') {
      users.update(user.username, { sealedTotpSecret: sealed, totpEnrolledAt: now() });
      this.deps.audit.append({
        actor: `user:${user.username}`,
        action: 'auth.mfa.enroll',
        target: `user:${user.username}`,
        outcome: 'success',
        source,
      });
    }
    this.deps.throttle.clear(user.username, source);
    const session = this.deps.sessions.create(user.username, source);
    this.deps.audit.append({
      actor: `user:${user.username}`,
      action: 'auth.mfa',
      target: `user:${user.username}`,
      outcome: 'success',
      source,
      details: { sessionExpiresAt: session.expiresAt },
    });
    return { ...session, username: user.username };
  }

  /**
   * Both factors in one request: the way in for the owner of a name an attacker keeps throttled
   * (an admin's too). Never refused by the throttle, so it needs the password AND a fresh TOTP
   * code; any failure is one INVALID_CREDENTIALS and counts like a wrong password. Success clears
   * this network's failures and yields a session.
   */
  async unlock(
    username: string,
    password: string,
    code: string,
    source: string | undefined,
  ): Promise<IssuedSession & { username: string }> {
    const { users, keyring, totp } = this.deps;
    const user = users.get(username);
    const ok = await this.passwordMatches(user, password);
    const sealed = user?.sealedTotpSecret;
    const step = sealed
      ? totp.verify(code, keyring.openSecret(totpPurpose(username), sealed).toString('utf8'))
      : undefined;
    const refusal = !user
      ? 'unknown_user'
      : !ok
        ? 'wrong_password'
        : user.disabledAt !== null
          ? 'disabled'
          : user.mustChangePassword || !sealed
            ? 'no_second_factor'
            : step === undefined
              ? 'wrong_code'
              : !users.consumeTotpStep(username, step)
                ? 'code_reused'
                : undefined;
    if (refusal) {
      this.recordFailure(username, source, 'auth.unlock', refusal);
      throw invalidCredentials();
    }
    this.deps.throttle.clear(username, source);
    this.deps.challenges.voidOpen(username, this.deps.now());
    const session = this.deps.sessions.create(username, source);
    this.auditSelf(username, 'auth.unlock', 'success', source, {
      factors: ['password', 'totp'],
      sessionExpiresAt: session.expiresAt,
    });
    return { ...session, username };
  }

  /** A password change from a live session: needs the current password. */
  async changePassword(username: string, current: string, next: string, source: string | undefined) {
    const user = this.deps.users.get(username);
    if (!user) throw invalidCredentials();
    const ok = await verifyPassword(current, user.passwordHash);
    this.refuseIfThrottled(username, source, 'auth.password.change');
    if (!ok) {
      this.recordFailure(username, source, 'auth.password.change', 'wrong_password');
      throw invalidCredentials();
    }
    checkPasswordPolicy(next, username);
    if (current === next) {
      throw new VitalGateError('PASSWORD_TOO_WEAK', 'choose a new password', { rule: 'reused' });
    }
    this.deps.users.update(username, { passwordHash: await hashPassword(next), mustChangePassword: false });
    this.deps.audit.append({
      actor: `user:${username}`,
      action: 'auth.password.change',
      target: `user:${username}`,
      outcome: 'success',
      source,
    });
  }

  private openChallenge(user: User, stage: LoginStage, source: string | undefined): LoginStep {
    const { now, keyring, totp } = this.deps;
    const challengeId = `vgc_${randomBytes(24).toString('base64url')}`;
    const expiresAt = now() + CHALLENGE_TTL_MS;
    let secret: string | undefined;
    if (stage === 'totp_enroll') secret = totp.generateSecret();
    this.deps.challenges.add({
      idHash: hashId(challengeId),
      username: user.username,
      stage,
      sealedPendingSecret: secret
        ? keyring.sealSecret(totpPurpose(user.username), Buffer.from(secret))
        : null,
      source: source ?? null,
      createdAt: now(),
      expiresAt,
    });
    return {
      next: NEXT_OF_STAGE[stage],
      challengeId,
      expiresAt,
      ...(secret ? { totp: { secret, otpauthUri: totp.otpauthUri(user.username, secret) } } : {}),
    };
  }

  private takeChallenge(challengeId: string, stage: LoginStage, source: string | undefined) {
    const idHash = hashId(challengeId);
    const challenge = this.deps.challenges.get(idHash);
    if (!challenge || challenge.stage !== stage || !this.deps.challenges.spend(idHash, this.deps.now())) {
      this.deps.audit.append({
        actor: challenge ? `user:${challenge.username}` : 'anonymous',
        action: 'auth.challenge',
        outcome: 'denied',
        source,
        details: { code: 'CHALLENGE_INVALID', stage },
      });
      throw new VitalGateError(
        'CHALLENGE_INVALID',
        'the login challenge is invalid or expired; log in again',
      );
    }
    return { challenge, user: this.deps.users.get(challenge.username)! };
  }

  private refuseIfThrottled(username: string, source: string | undefined, action: string): void {
    const { blocked, retryAfterSeconds } = this.deps.throttle.verdict(username, source);
    if (!blocked) return;
    this.auditSelf(username, action, 'denied', source, { code: 'ACCOUNT_LOCKED', retryAfterSeconds });
    throw new VitalGateError(
      'ACCOUNT_LOCKED',
      'too many failed attempts from this network; try again later or unlock with your authenticator',
      { retryAfterSeconds },
    );
  }

  private recordFailure(username: string, source: string | undefined, action: string, cause: string): void {
    const entry = this.deps.throttle.fail(username, source);
    this.auditSelf(username, action, 'denied', source, {
      code: 'INVALID_CREDENTIALS',
      cause,
      failures: entry.failures,
    });
    if (!entry.newlyBlocked) return;
    const details = { failures: entry.failures, blockedUntil: entry.blockedUntil, network: entry.source };
    this.deps.audit.append({
      actor: 'system',
      action: 'auth.lockout',
      target: `user:${username}`,
      outcome: 'success',
      source,
      details,
    });
    this.deps.securityEvents.add({
      kind: 'account_locked',
      severity: entry.failures > this.deps.config.lockoutThreshold ? 'high' : 'medium',
      username,
      source: source ?? null,
      details,
    });
  }

  private auditSelf(
    username: string,
    action: string,
    outcome: 'success' | 'denied',
    source: string | undefined,
    details: Record<string, unknown>,
  ): void {
    auditOwnAccount(this.deps.audit, username, action, outcome, source, details);
  }
}

/** An audit entry of a user acting on their own account (sign-in steps, passkeys). */
export function auditOwnAccount(
  audit: AuditLog,
  username: string,
  action: string,
  outcome: 'success' | 'denied',
  source: string | undefined,
  details: Record<string, unknown>,
): void {
  audit.append({ actor: `user:${username}`, action, target: `user:${username}`, outcome, source, details });
}

function invalidCredentials(): VitalGateError {
  return new VitalGateError('INVALID_CREDENTIALS', 'username or password is wrong');
}
