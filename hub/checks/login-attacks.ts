// Accounts under attack: many failed sign-ins against one account from several networks in the
// last hour. The login throttle keeps each network from locking the owner out; this check makes
// sure an operator sees the attack (and can act: a firewall rule, a password reset).
import { fail, listIds, pass, warn, type DeploymentCheck } from './check.js';

const WINDOW_MS = 3_600_000;
/** At least this many networks, each failing, make a spread attack rather than a forgetful user. */
export const ATTACK_MIN_NETWORKS = 3;

export const accountsUnderAttack: DeploymentCheck = {
  id: 'VG-API-009',
  title: 'No account is under a sign-in attack',
  severity: 'high',
  verifies: `No account has failed sign-ins from ${ATTACK_MIN_NETWORKS} or more networks adding up to twice VITALGATE_LOCKOUT_THRESHOLD within the last hour.`,
  how: 'Reads the login throttle (failures per username and source network) for the last hour.',
  references: {
    owasp: 'Interface/central station security',
    hipaa: '164.312(d) Person or entity authentication',
  },
  run({ store, config, now }) {
    const recent = store.loginThrottle
      .failuresSince(now - WINDOW_MS)
      .filter((a) => a.sources >= ATTACK_MIN_NETWORKS && a.failures >= 2 * config.lockoutThreshold);
    const accounts = recent.filter((a) => store.users.get(a.username) !== undefined);
    const unknownNames = recent.length - accounts.length;
    const others = unknownNames ? `; ${unknownNames} names that are not accounts too` : '';
    if (accounts.length) {
      return fail(
        `accounts under attack in the last hour: ${listIds(
          accounts.map((a) => `${a.username} (${a.failures} failures from ${a.sources} networks)`),
        )}${others}`,
        'Find the networks in /api/v1/security/events (account_locked) and the audit log (auth.login denied), block them at the firewall, and reset the password of an account whose password may be known.',
      );
    }
    if (unknownNames) {
      return warn(
        `${unknownNames} names that are not accounts were tried from ${ATTACK_MIN_NETWORKS} or more networks in the last hour`,
        'Someone is guessing user names: block the networks in the audit log (auth.login denied) at the firewall.',
      );
    }
    return pass('no account had failed sign-ins from several networks in the last hour');
  },
};
