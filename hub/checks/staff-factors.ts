// Staff sign-in factors (docs/SECURITY.md, passkeys and step-up): every account that can read PHI
// holds a second factor (a passkey or TOTP), the roles that must use passkeys have them, and no
// passkey caught with a counter going backwards (a copied authenticator) is left in place.
import { ROLES } from '../../core/domain.js';
import { roleMay } from '../../dashboard-api/access/policy.js';
import { fail, listIds, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

/** A new account enrols its second factor at its first sign-in; a day to do it, as VG-API-001. */
const FIRST_SIGN_IN_GRACE_MS = 86_400_000;

const PHI_ROLES: readonly string[] = ROLES.filter((r) => roleMay(r, 'phi.read'));

const references = {
  owasp: 'Interface/central station security',
  hipaa: '164.312(d) Person or entity authentication',
} as const;

export const phiRolesHaveSecondFactor: DeploymentCheck = {
  id: 'VG-STAFF-001',
  title: 'Every account that can read PHI has a passkey or TOTP',
  severity: 'medium',
  verifies:
    'No enabled account of a role that reads PHI is more than a day old without both a usable passkey and an enrolled authenticator app (TOTP); younger ones are named as awaiting their first sign-in.',
  how: 'Reads each enabled account of a PHI role, its creation time, its TOTP enrolment and its passkeys that are neither removed nor flagged (VG-API-001 checks TOTP alone).',
  references,
  run({ store, now }) {
    const withPasskey = store.passkeys.usersWithActive();
    const bare = store.users
      .list()
      .filter(
        (u) =>
          u.disabledAt === null &&
          PHI_ROLES.includes(u.role) &&
          u.totpEnrolledAt === null &&
          !withPasskey.has(u.username),
      );
    const overdue = bare.filter((u) => now - u.createdAt > FIRST_SIGN_IN_GRACE_MS).map((u) => u.username);
    const awaiting = bare.filter((u) => now - u.createdAt <= FIRST_SIGN_IN_GRACE_MS).map((u) => u.username);
    const advice =
      'Have these users finish their first sign-in (it enrols TOTP) and register a passkey, or disable the accounts until they do.';
    if (overdue.length)
      return fail(
        `PHI accounts older than a day with neither a passkey nor TOTP: ${listIds(overdue)}`,
        advice,
      );
    if (awaiting.length)
      return warn(
        `PHI accounts awaiting their first sign-in (no passkey or TOTP yet): ${listIds(awaiting)}`,
        advice,
      );
    return pass(`every enabled account of ${PHI_ROLES.join(', ')} has a passkey or TOTP`);
  },
};

export const passkeyRolesHavePasskeys: DeploymentCheck = {
  id: 'VG-STAFF-002',
  title: 'Users of roles that require passkeys have one',
  severity: 'medium',
  verifies:
    'Every enabled account of a role in VITALGATE_PASSKEY_REQUIRED_ROLES holds a usable passkey (until then it reaches only its own account).',
  how: 'Reads the setting, each enabled account of those roles, and their passkeys that are neither removed nor flagged.',
  references,
  run({ store, config }) {
    const roles = config.passkeyRequiredRoles as readonly string[];
    if (roles.length === 0)
      return notApplicable('no role requires passkeys (VITALGATE_PASSKEY_REQUIRED_ROLES)');
    const withPasskey = store.passkeys.usersWithActive();
    const missing = store.users
      .list()
      .filter((u) => u.disabledAt === null && roles.includes(u.role) && !withPasskey.has(u.username))
      .map((u) => `${u.username} (${u.role})`);
    return missing.length
      ? fail(
          `accounts of passkey roles without a passkey: ${listIds(missing)}`,
          'Ask these users to register a passkey on Security keys & passkeys (they are led there at sign-in), or disable the accounts.',
        )
      : pass(`every enabled account of ${roles.join(', ')} has a passkey`);
  },
};

export const flaggedPasskeysRemoved: DeploymentCheck = {
  id: 'VG-STAFF-003',
  title: 'No passkey flagged as copied is left registered',
  severity: 'high',
  verifies:
    'No passkey whose signature counter went backwards (the sign of a cloned authenticator) is still registered without review.',
  how: 'Lists passkeys that are flagged and not removed; each flag also raised a passkey_counter_regressed security event.',
  references: { ...references, hipaa: '164.308(a)(6) Security incident procedures' },
  run({ store }) {
    const flagged = store.db
      .prepare(
        'SELECT id, username FROM passkeys WHERE flagged_at IS NOT NULL AND revoked_at IS NULL ORDER BY id',
      )
      .all() as { id: string; username: string }[];
    return flagged.length
      ? fail(
          `flagged passkeys still registered: ${listIds(flagged.map((p) => `${p.id} (${p.username})`))}`,
          'Treat it as an incident: ask the user where the authenticator has been, have them remove the passkey (DELETE /api/v1/auth/passkeys/{id}) and register a new one, and review their recent sessions.',
        )
      : pass('no flagged passkey is registered');
  },
};

export const STAFF_FACTOR_CHECKS: readonly DeploymentCheck[] = [
  phiRolesHaveSecondFactor,
  passkeyRolesHavePasskeys,
  flaggedPasskeysRemoved,
];
