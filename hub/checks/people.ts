// API and people checks that read the control plane and configuration: MFA, session timeout,
// the first admin's password, lockout, the audit chain and the PHI network policy.
import { BreakGlassGrantRepository } from '../../core/store/break-glass-grants.js';
import { fail, listIds, pass, warn, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
const PHI_ROLES = new Set(['clinician', 'admin', 'engineer']);

export const mfaEnforced: DeploymentCheck = {
  id: 'VG-API-001',
  title: 'MFA is enrolled for every account that can see PHI or change devices',
  severity: 'high',
  verifies: 'Every enabled clinician, admin and engineer account has TOTP enrolled within a day of creation.',
  how: 'Reads each account’s role, creation time and TOTP enrollment.',
  references: {
    owasp: 'Interface/central station security',
    hipaa: '164.312(d) Person or entity authentication',
  },
  run({ store, now }) {
    const missing = store.users
      .list()
      .filter(
        (u) =>
          u.disabledAt === null &&
          PHI_ROLES.has(u.role) &&
          u.totpEnrolledAt === null &&
          now - u.createdAt > DAY,
      )
      .map((u) => u.username);
    return missing.length
      ? fail(
          `accounts without MFA after a day: ${listIds(missing)}`,
          'Have these users enroll TOTP, or disable them.',
        )
      : pass('every enabled PHI or device account older than a day has MFA');
  },
};

export const sessionIdleTimeout: DeploymentCheck = {
  id: 'VG-API-002',
  title: 'Sessions log off automatically',
  severity: 'high',
  verifies: 'The session idle timeout is at most 15 minutes and the absolute lifetime at most 12 hours.',
  how: 'Reads VITALGATE_SESSION_IDLE_MINUTES and VITALGATE_SESSION_MAX_HOURS.',
  references: { owasp: 'Interface/central station security', hipaa: '164.312(a)(2)(iii) Automatic logoff' },
  run({ config }) {
    if (config.sessionIdleMinutes > 15) {
      return fail(
        `idle timeout is ${config.sessionIdleMinutes} minutes`,
        'Set VITALGATE_SESSION_IDLE_MINUTES to 15 or less.',
      );
    }
    if (config.sessionMaxHours > 12) {
      return warn(
        `absolute session lifetime is ${config.sessionMaxHours} hours`,
        'Set VITALGATE_SESSION_MAX_HOURS to 12 or less.',
      );
    }
    return pass(`idle timeout ${config.sessionIdleMinutes} min, lifetime ${config.sessionMaxHours} h`);
  },
};

export const firstAdminPassword: DeploymentCheck = {
  id: 'VG-API-003',
  title: 'No one-time or default password is left unchanged',
  severity: 'critical',
  verifies: 'No enabled account still has its one-time password a day after creation.',
  how: 'Reads the must-change-password flag and creation time of every enabled account.',
  references: {
    owasp: 'Interface/central station security',
    hipaa: '164.312(d) Person or entity authentication',
    deviceDefender: 'IOT_POLICY_OVERLY_PERMISSIVE_CHECK',
  },
  run({ store, now }) {
    const stale = store.users
      .list()
      .filter((u) => u.disabledAt === null && u.mustChangePassword && now - u.createdAt > DAY)
      .map((u) => u.username);
    return stale.length
      ? fail(
          `accounts still on their one-time password: ${listIds(stale)}`,
          'Log in and change the password, or disable the account.',
        )
      : pass('no account older than a day is on its one-time password');
  },
};

export const lockoutOn: DeploymentCheck = {
  id: 'VG-API-004',
  title: 'Repeated login failures lock the account',
  severity: 'high',
  verifies: 'Accounts lock after at most 10 failures, for at least 5 minutes.',
  how: 'Reads VITALGATE_LOCKOUT_THRESHOLD and VITALGATE_LOCKOUT_MINUTES.',
  references: {
    owasp: 'Interface/central station security',
    hipaa: '164.312(d) Person or entity authentication',
  },
  run({ config }) {
    return config.lockoutThreshold <= 10 && config.lockoutMinutes >= 5
      ? pass(`lock after ${config.lockoutThreshold} failures for ${config.lockoutMinutes} minutes`)
      : fail(
          `lockout after ${config.lockoutThreshold} failures for ${config.lockoutMinutes} minutes`,
          'Set VITALGATE_LOCKOUT_THRESHOLD ≤ 10 and VITALGATE_LOCKOUT_MINUTES ≥ 5.',
        );
  },
};

export const auditChainVerifies: DeploymentCheck = {
  id: 'VG-AUD-001',
  title: 'The audit chain verifies',
  severity: 'critical',
  verifies: 'Every audit entry links to the one before it, and none was edited, removed or reordered.',
  how: 'Walks the whole hash chain and compares the newest entry with its anchor.',
  references: { owasp: 'Incident response', hipaa: '164.312(b) Audit controls' },
  run({ store }) {
    const result = store.audit.verify();
    const pruned = result.pruned
      ? `; ${result.pruned.entries} older entries pruned by the retention policy (through seq ${result.pruned.throughSeq})`
      : '';
    return result.ok
      ? pass(`${result.checked} entries verified${pruned}`)
      : fail(
          `chain broken at entry ${result.firstBad?.seq} (${result.firstBad?.problem}); ${result.checked} entries before it verified`,
          'Treat as a security incident: preserve the database, compare with backups, find who had write access.',
        );
  },
};

export const phiNetworkPolicy: DeploymentCheck = {
  id: 'VG-API-008',
  title: 'PHI can be read only from named networks',
  severity: 'medium',
  verifies: 'The PHI network policy is set and does not allow the whole internet.',
  how: 'Reads VITALGATE_PHI_NETWORKS.',
  references: { owasp: 'Network security controls', hipaa: '164.312(a)(1) Access control' },
  run({ config }) {
    if (config.phiNetworks.length === 0) {
      return warn(
        'no PHI networks: PHI cannot be read at all',
        'Set VITALGATE_PHI_NETWORKS to the clinical networks.',
      );
    }
    const open = config.phiNetworks.filter((c) => c.endsWith('/0'));
    return open.length
      ? fail(
          `PHI readable from anywhere (${open.join(', ')})`,
          'Replace /0 blocks with the clinical networks.',
        )
      : pass(`PHI readable from ${config.phiNetworks.join(', ')}`);
  },
};

export const backupsVerified: DeploymentCheck = {
  id: 'VG-DATA-006',
  title: 'A verified backup is younger than the policy',
  severity: 'medium',
  verifies: `A verified backup of the control plane exists and is younger than VITALGATE_BACKUP_MAX_AGE_HOURS.`,
  how: 'Reads the time of the last verified backup recorded by `vitalgate backup`.',
  references: { owasp: 'Incident response', hipaa: '164.312(c)(1) Integrity' },
  run({ store, config, now }) {
    const last = store.meta.get('last_verified_backup_at');
    if (!last)
      return warn(
        'no verified backup recorded yet',
        'Back up the data dir and the master key separately, and verify a restore.',
      );
    const ageHours = (now - Date.parse(last)) / 3_600_000;
    return ageHours <= config.backupMaxAgeHours
      ? pass(`last verified backup ${last}`)
      : warn(`last verified backup ${last} is ${Math.round(ageHours)} h old`, 'Run and verify a backup.');
  },
};

export const PEOPLE_CHECKS: DeploymentCheck[] = [
  mfaEnforced,
  sessionIdleTimeout,
  firstAdminPassword,
  lockoutOn,
  auditChainVerifies,
  phiNetworkPolicy,
  backupsVerified,
];

export const breakGlassReviewed: DeploymentCheck = {
  id: 'VG-API-005',
  title: 'Break-glass grants are reviewed',
  severity: 'medium',
  verifies:
    'Every break-glass grant of the last 90 days older than a day has an auditor review in the audit log.',
  how: 'Lists break-glass grants and looks for a break_glass.review audit entry for each (vitalgate break-glass review).',
  references: { owasp: 'Incident response', hipaa: '164.312(a)(2)(ii) Emergency access procedure' },
  run({ store, now }) {
    const grants = new BreakGlassGrantRepository(store.db)
      .list({ limit: 1000 })
      .filter((g) => g.grantedAt < now - DAY && g.grantedAt > now - 90 * DAY);
    const unreviewed = grants
      .filter(
        (g) =>
          store.audit.list({ action: 'break_glass.review', target: `break-glass:${g.id}`, limit: 1 })
            .length === 0,
      )
      .map((g) => `#${g.id} (${g.username})`);
    return unreviewed.length
      ? warn(
          `unreviewed break-glass grants: ${listIds(unreviewed)}`,
          'Review each grant and record it: vitalgate break-glass review ID --note TEXT.',
        )
      : pass(`${grants.length} break-glass grant(s) older than a day, all reviewed`);
  },
};
