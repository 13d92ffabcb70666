// Staff accounts, for the API's /users and the `vitalgate user` commands alike: create with a
// one-time password, list, disable and enable, unlock, reset the password or the MFA. Anything
// that changes who can sign in ends the account's live sessions at once.
import { ROLES, type Role } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import { generateOneTimePassword, hashPassword } from '../../core/passwords.js';
import type { BreakGlassGrantRepository } from '../../core/store/break-glass-grants.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import { USERNAME_PATTERN, type User } from '../../core/store/users.js';

/** Ends sessions (the API's SessionService; the CLI builds one on the same store). */
export interface SessionTerminator {
  endAllOf(username: string, reason: string, actor: string): number;
}

export interface UserView {
  username: string;
  role: Role;
  mfaEnrolled: boolean;
  mustChangePassword: boolean;
  locked: boolean;
  disabled: boolean;
  createdAt: string;
}

export class UserDirectory {
  constructor(
    private readonly store: ControlPlane,
    private readonly sessions: SessionTerminator,
    private readonly grants: BreakGlassGrantRepository,
    private readonly now: () => number = Date.now,
  ) {}

  view(u: User): UserView {
    return {
      username: u.username,
      role: u.role,
      mfaEnrolled: u.totpEnrolledAt !== null,
      mustChangePassword: u.mustChangePassword,
      /** Blocked by the login throttle from at least one network. */
      locked: this.store.loginThrottle.blockedSources(u.username, this.now()) > 0,
      disabled: u.disabledAt !== null,
      createdAt: new Date(u.createdAt).toISOString(),
    };
  }

  list(): UserView[] {
    return this.store.users.list().map((u) => this.view(u));
  }

  get(username: string): UserView {
    return this.view(this.require(username));
  }

  /** A new account with a one-time password that must be changed at first login. */
  async create(username: string, role: string, actor: string, source?: string) {
    if (!USERNAME_PATTERN.test(username)) {
      throw new VitalGateError(
        'USERNAME_INVALID',
        'username must be 2-64 lower-case letters, digits, . _ or -',
      );
    }
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new VitalGateError('ROLE_INVALID', `role must be one of ${ROLES.join(', ')}`);
    }
    const oneTimePassword = generateOneTimePassword();
    this.store.users.add({
      username,
      role: role as Role,
      passwordHash: await hashPassword(oneTimePassword),
      mustChangePassword: true,
    });
    this.audit(actor, 'user.create', username, source, { role });
    return { username, oneTimePassword };
  }

  disable(username: string, reason: string, actor: string, source?: string): UserView {
    this.require(username);
    this.store.users.update(username, { disabledAt: this.now() });
    this.sessions.endAllOf(username, 'account_disabled', actor);
    this.grants.endAllOf(username, this.now());
    this.audit(actor, 'user.disable', username, source, { reason });
    return this.get(username);
  }

  enable(username: string, actor: string, source?: string): UserView {
    this.require(username);
    this.store.users.update(username, { disabledAt: null });
    this.store.loginThrottle.clear(username);
    this.audit(actor, 'user.enable', username, source);
    return this.get(username);
  }

  unlock(username: string, actor: string, source?: string): UserView {
    this.require(username);
    const networks = this.store.loginThrottle.clear(username);
    this.audit(actor, 'user.unlock', username, source, { networks });
    return this.get(username);
  }

  /** A new one-time password; the old one and every session stop working. */
  async resetPassword(username: string, actor: string, source?: string) {
    this.require(username);
    const oneTimePassword = generateOneTimePassword();
    this.store.users.update(username, {
      passwordHash: await hashPassword(oneTimePassword),
      mustChangePassword: true,
    });
    this.store.loginThrottle.clear(username);
    this.sessions.endAllOf(username, 'password_reset', actor);
    this.audit(actor, 'user.password.reset', username, source);
    return { username, oneTimePassword };
  }

  /** Forgets the TOTP secret: the next login enrolls a new one. */
  resetMfa(username: string, actor: string, source?: string): UserView {
    this.require(username);
    this.store.users.update(username, { sealedTotpSecret: null, totpEnrolledAt: null });
    // The authenticator may be gone with the phone that held the passkeys: they go too.
    const passkeysRevoked = this.store.passkeys.revokeAllOf(username, 'mfa_reset');
    this.sessions.endAllOf(username, 'mfa_reset', actor);
    this.audit(actor, 'user.mfa.reset', username, source, passkeysRevoked ? { passkeysRevoked } : undefined);
    return this.get(username);
  }

  private require(username: string): User {
    const user = this.store.users.get(username);
    if (!user) throw new VitalGateError('USER_NOT_FOUND', `no user ${username}`);
    return user;
  }

  private audit(
    actor: string,
    action: string,
    username: string,
    source?: string,
    details?: Record<string, unknown>,
  ) {
    this.store.audit.append({
      actor,
      action,
      target: `user:${username}`,
      outcome: 'success',
      source,
      details,
    });
  }
}
