// Step-up with an authenticator code: the signed-in user types a fresh TOTP code. A code is good
// once (the same 30-second step as the sign-in's is refused: wait for the next one), wrong codes
// count in the login throttle like a wrong password (a stolen session cannot guess codes), and
// every attempt is audited.
import type { AuditLog } from '../../core/audit.js';
import { VitalGateError } from '../../core/errors.js';
import type { Keyring } from '../../core/keyring.js';
import type { UserRepository } from '../../core/store/users.js';
import { totpPurpose } from './login.js';
import type { LoginThrottle } from './login-throttle.js';
import type { Principal, SessionService } from './sessions.js';
import type { TotpVerifier } from './totp.js';

export interface TotpStepUpDeps {
  users: UserRepository;
  keyring: Keyring;
  totp: TotpVerifier;
  sessions: SessionService;
  throttle: LoginThrottle;
  audit: AuditLog;
}

export class TotpStepUp {
  constructor(private readonly deps: TotpStepUpDeps) {}

  /** Verifies the code and records the step-up on the session; answers the step-up time. */
  stepUp(principal: Principal, code: string, source: string | undefined): number {
    const { users, keyring, totp, throttle } = this.deps;
    const username = principal.username;
    const refuse = (code: string, message: string, details: object = {}): never => {
      this.deps.audit.append({
        actor: `user:${username}`,
        action: 'auth.step_up',
        target: `user:${username}`,
        outcome: 'denied',
        source,
        details: { method: 'totp', code, ...details },
      });
      throw new VitalGateError(code, message, details as Record<string, unknown>);
    };
    const blocked = throttle.verdict(username, source);
    if (blocked.blocked) {
      refuse('ACCOUNT_LOCKED', 'too many failed attempts from this network; try again later', {
        retryAfterSeconds: blocked.retryAfterSeconds,
      });
    }
    const sealed = users.get(username)?.sealedTotpSecret;
    if (!sealed) refuse('MFA_NOT_ENROLLED', 'this account has no authenticator app; use a passkey');
    const secret = keyring.openSecret(totpPurpose(username), sealed!).toString('utf8');
    const step = totp.verify(code, secret);
    if (step === undefined) {
      throttle.fail(username, source);
      refuse('MFA_CODE_INVALID', 'the code is not valid');
    }
    if (!users.consumeTotpStep(username, step!)) {
      throttle.fail(username, source);
      refuse('MFA_CODE_REUSED', 'this code was used already; wait for the next one');
    }
    throttle.clear(username, source);
    return this.deps.sessions.markSteppedUp(principal.sessionHash, 'totp', source);
  }
}
