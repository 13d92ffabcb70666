// Login: password, then the steps the account still owes (a first-login password change, TOTP
// enrollment), then the TOTP code, then a session. Failures of the password or the code count
// toward a lockout that doubles with each further failure. Refusals are alike toward the caller
// (an unknown user, a wrong password and a disabled account all read INVALID_CREDENTIALS); the
// audit entry keeps the precise cause.
import { createHash, randomBytes } from 'node:crypto';
import type { AuditLog } from '../../core/audit.js';
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import type { Keyring } from '../../core/keyring.js';
import { hashPassword, verifyPassword } from '../../core/passwords.js';
import type { LoginChallengeRepository, LoginStage } from '../../core/store/login-challenges.js';
import type { SecurityEventRepository } from '../../core/store/security-events.js';
import type { User, UserRepository } from '../../core/store/users.js';
import { checkPasswordPolicy } from './password-policy.js';
import type { IssuedSession, SessionService } from './sessions.js';
import type { TotpVerifier } from './totp.js';

const CHALLENGE_TTL_MS = 5 * 60_000;
const MAX_CHALLENGE_ATTEMPTS = 5;
/** The lock doubles per failure past the threshold, up to 2^6 times the configured minutes. */
const MAX_BACKOFF_DOUBLINGS = 6;

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

function totpPurpose(username: string): string {
  return `totp:${username}`;
}

export class LoginService {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: LoginDeps) {}

  async login(username: string, password: string, source: string | undefined): Promise<LoginStep> {
    const { users, now } = this.deps;
    const user = users.get(username);
    if (!user) {
      // Spend the same scrypt time as for a real account.
      this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
      await verifyPassword(password, await this.dummyHash);
      this.auditLogin(username, 'denied', source, { code: 'INVALID_CREDENTIALS', cause: 'unknown_user' });
      throw invalidCredentials();
    }
    this.refuseIfLocked(user, source, 'auth.login');
    const ok = await verifyPassword(password, user.passwordHash);
    if (!ok) {
      this.recordFailure(user, source, 'auth.login', 'wrong_password');
      throw invalidCredentials();
    }
    if (user.disabledAt !== null) {
      this.auditLogin(username, 'denied', source, { code: 'INVALID_CREDENTIALS', cause: 'disabled' });
      throw invalidCredentials();
    }
    this.deps.challenges.voidOpen(username, now());
    const stage: LoginStage = user.mustChangePassword
      ? 'password_change'
      : user.sealedTotpSecret === null
        ? 'totp_enroll'
        : 'totp';
    this.auditLogin(username, 'success', source, { step: 'password', next: NEXT_OF_STAGE[stage] });
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
    this.refuseIfLocked(user, source, 'auth.mfa');
    const sealed = challenge.stage === 'totp_enroll' ? challenge.sealedPendingSecret : user.sealedTotpSecret;
    if (!sealed)
      throw new VitalGateError('CHALLENGE_INVALID', 'the login challenge is invalid; log in again');
    const secret = keyring.openSecret(totpPurpose(user.username), sealed).toString('utf8');
    const step = this.deps.totp.verify(code, secret);
    if (step === undefined) {
      const attempts = this.deps.challenges.fail(idHash);
      if (attempts >= MAX_CHALLENGE_ATTEMPTS) this.deps.challenges.spend(idHash, now());
      this.recordFailure(user, source, 'auth.mfa', 'wrong_code');
      throw new VitalGateError('MFA_CODE_INVALID', 'the code is not valid');
    }
    // A code (its 30-second step, or an earlier one) is good once. The step is consumed first, so
    // two concurrent requests with one code cannot both pass.
    if (!users.consumeTotpStep(user.username, step)) {
      this.recordFailure(user, source, 'auth.mfa', 'code_reused');
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
    users.update(user.username, { failedLogins: 0, lockedUntil: null });
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

  /** A password change from a live session: needs the current password. */
  async changePassword(username: string, current: string, next: string, source: string | undefined) {
    const user = this.deps.users.get(username);
    if (!user) throw invalidCredentials();
    if (!(await verifyPassword(current, user.passwordHash))) {
      this.recordFailure(user, source, 'auth.password.change', 'wrong_password');
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

  private refuseIfLocked(user: User, source: string | undefined, action: string): void {
    const at = this.deps.now();
    if (user.lockedUntil !== null && user.lockedUntil > at) {
      const retryAfterSeconds = Math.ceil((user.lockedUntil - at) / 1000);
      this.deps.audit.append({
        actor: `user:${user.username}`,
        action,
        target: `user:${user.username}`,
        outcome: 'denied',
        source,
        details: { code: 'ACCOUNT_LOCKED', retryAfterSeconds },
      });
      throw new VitalGateError(
        'ACCOUNT_LOCKED',
        'too many failed attempts; the account is locked for a while',
        {
          retryAfterSeconds,
        },
      );
    }
  }

  private recordFailure(user: User, source: string | undefined, action: string, cause: string): void {
    const { users, config, now } = this.deps;
    const failures = user.failedLogins + 1;
    let lockedUntil: number | null = null;
    if (failures >= config.lockoutThreshold) {
      const doublings = Math.min(failures - config.lockoutThreshold, MAX_BACKOFF_DOUBLINGS);
      lockedUntil = now() + config.lockoutMinutes * 60_000 * 2 ** doublings;
    }
    users.update(user.username, { failedLogins: failures, ...(lockedUntil ? { lockedUntil } : {}) });
    this.deps.audit.append({
      actor: `user:${user.username}`,
      action,
      target: `user:${user.username}`,
      outcome: 'denied',
      source,
      details: { code: 'INVALID_CREDENTIALS', cause, failures },
    });
    if (lockedUntil) {
      this.deps.audit.append({
        actor: 'system',
        action: 'auth.lockout',
        target: `user:${user.username}`,
        outcome: 'success',
        source,
        details: { failures, lockedUntil },
      });
      this.deps.securityEvents.add({
        kind: 'account_locked',
        severity: failures > config.lockoutThreshold ? 'high' : 'medium',
        username: user.username,
        source: source ?? null,
        details: { failures, lockedUntil },
      });
    }
  }

  private auditLogin(
    username: string,
    outcome: 'success' | 'denied',
    source: string | undefined,
    details: Record<string, unknown>,
  ): void {
    this.deps.audit.append({
      actor: `user:${username}`,
      action: 'auth.login',
      target: `user:${username}`,
      outcome,
      source,
      details,
    });
  }
}

function invalidCredentials(): VitalGateError {
  return new VitalGateError('INVALID_CREDENTIALS', 'username or password is wrong');
}
