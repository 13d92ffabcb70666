// Retention checks: the settings meet policy, the running hub enforces them, the audit log was
// pruned only by the policy (with an anchor the chain vouches for), and refused patient data is
// not kept longer than accepted data.
import { AUDIT_PRUNE_ACTION } from '../../core/audit.js';
import { envName } from '../../core/config.js';
import { countExpired, RETENTION_RULES, retentionBelowPolicy } from '../../core/store/retention.js';
import { RETENTION_INTERVAL_MS, RETENTION_LAST_RUN_KEY } from '../retention.js';
import { fail, listIds, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
const AUDIT = '164.312(b) Audit controls';
const AUDIT_FLOOR_DAYS = RETENTION_RULES.find((r) => r.kind === 'auditEntries')!.floorDays;

export const retentionMeetsPolicy: DeploymentCheck = {
  id: 'VG-AUD-002',
  title: 'Retention settings are not shorter than policy',
  severity: 'high',
  verifies: `Each VITALGATE_*_RETENTION_DAYS setting keeps at least its policy floor: ${RETENTION_RULES.map((r) => `${envName(r.setting)} ≥ ${r.floorDays}`).join(', ')}.`,
  how: 'Compares the configured retention settings with the floors in core/store/retention.ts; below a HIPAA floor (45 CFR 164.316(b)(2)(i), six years) fails, below an operational floor warns.',
  references: { owasp: 'Incident response', hipaa: AUDIT },
  run({ config }) {
    const below = retentionBelowPolicy(config);
    const describe = below.map(
      ({ rule, days }) => `${envName(rule.setting)}=${days} (policy ${rule.floorDays})`,
    );
    const remediation = 'Raise the setting to its floor, or archive what the hub prunes and record where.';
    if (below.some((b) => b.rule.regulatory))
      return fail(`below the six-year documentation rule: ${describe.join(', ')}`, remediation);
    if (below.length) return warn(`below policy: ${describe.join(', ')}`, remediation);
    return pass(
      `audit ${config.auditRetentionDays} d, security events ${config.securityEventRetentionDays} d; every setting at or above its floor`,
    );
  },
};

export const retentionEnforced: DeploymentCheck = {
  id: 'VG-AUD-003',
  title: 'Retention is enforced',
  severity: 'medium',
  verifies:
    'No audit entry, security event, dead letter, cleared alert, ended session, login challenge or check report is more than a day older than its retention setting.',
  how: 'Counts the rows of each table older than its setting plus one day (the hub prunes hourly).',
  references: { owasp: 'Device security controls', hipaa: '164.312(c)(1) Integrity' },
  run({ store, config, now }) {
    const counts = countExpired(store, config, now, DAY);
    const overdue = RETENTION_RULES.filter((r) => counts[r.kind] > 0).map(
      (r) => `${counts[r.kind]} ${r.table} rows older than ${envName(r.setting)}=${config[r.setting]}`,
    );
    return overdue.length
      ? fail(
          overdue.join(', '),
          'Run the hub: it prunes at start and every hour. If it runs, read its log for "retention failed".',
        )
      : pass(`nothing older than its retention setting (${RETENTION_RULES.length} tables)`);
  },
};

export const auditPrunedByPolicy: DeploymentCheck = {
  id: 'VG-AUD-004',
  title: 'Audit entries were pruned only by policy',
  severity: 'high',
  verifies: `Every audit prune removed only entries older than ${AUDIT_FLOOR_DAYS} days, and the prune anchor is the one the chain's latest audit.prune entry recorded.`,
  how: 'Reads the prune anchor and the audit.prune entries: the cutoff each one used, and the seq and hash the latest one vouches for.',
  references: { owasp: 'Incident response', hipaa: AUDIT },
  run({ store }) {
    const anchor = store.audit.pruneAnchor();
    if (anchor === 'malformed')
      return fail(
        'the audit prune anchor is unreadable',
        'Treat as a security incident: compare the control plane with a backup.',
      );
    const prunes = store.audit.list({ action: AUDIT_PRUNE_ACTION, limit: 1000 });
    if (!anchor)
      return prunes.length
        ? fail(
            `${prunes.length} audit.prune entries but no prune anchor`,
            'Treat as a security incident: the anchor was removed; compare with a backup.',
          )
        : pass('no audit entry was ever pruned');
    const latest = prunes[0];
    if (latest?.details?.throughSeq !== anchor.throughSeq || latest.details.anchorHash !== anchor.hash)
      return fail(
        `the prune anchor (through seq ${anchor.throughSeq}) matches no audit.prune entry`,
        'Treat as a security incident: entries may have been removed outside the retention policy.',
      );
    const short = prunes
      .filter((p) => p.at - Date.parse(String(p.details?.before)) < AUDIT_FLOOR_DAYS * DAY)
      .map((p) => `#${p.seq} (kept ${Math.floor((p.at - Date.parse(String(p.details?.before))) / DAY)} d)`);
    return short.length
      ? fail(
          `audit prunes removed entries younger than ${AUDIT_FLOOR_DAYS} days: ${listIds(short)}`,
          'Restore the pruned entries from a backup into the archive you keep for audits, and raise VITALGATE_AUDIT_RETENTION_DAYS.',
        )
      : pass(
          `entries 1-${anchor.throughSeq} pruned by policy (last prune ${new Date(anchor.prunedAt).toISOString()}); anchor vouched for by audit entry ${latest.seq}`,
        );
  },
};

export const retentionRuns: DeploymentCheck = {
  id: 'VG-AUD-005',
  title: 'The running hub enforces retention',
  severity: 'medium',
  verifies: 'While the hub runs, its retention job ran within the last two hours.',
  how: 'Reads when the hub last enforced retention (it does at start and every hour).',
  references: { owasp: 'Device security controls', hipaa: '164.312(c)(1) Integrity' },
  run({ store, live, now }) {
    const last = store.meta.get(RETENTION_LAST_RUN_KEY);
    if (!live) return notApplicable(`the hub is not running; retention last ran ${last ?? 'never'}`);
    if (!last) return fail('the running hub never enforced retention', 'Restart the hub; read its log.');
    const hours = (now - Date.parse(last)) / 3_600_000;
    return hours * 3_600_000 > 2 * RETENTION_INTERVAL_MS
      ? fail(
          `retention last ran ${last}, ${Math.floor(hours)} h ago`,
          'Read the hub log for "retention failed"; restart the hub.',
        )
      : pass(`retention last ran ${last}`);
  },
};

export const deadLettersWithinTelemetryRetention: DeploymentCheck = {
  id: 'VG-DATA-012',
  title: 'Dead letters do not outlive the telemetry',
  severity: 'medium',
  verifies:
    'Refused messages (sealed patient data) are kept no longer than readings: VITALGATE_DEAD_LETTER_RETENTION_DAYS ≤ VITALGATE_RETENTION_DAYS.',
  how: 'Compares the two retention settings.',
  references: { owasp: 'Device security controls', hipaa: '164.312(a)(2)(iv) Encryption and decryption' },
  run({ config }) {
    const { deadLetterRetentionDays: dead, retentionDays: raw } = config;
    return dead > raw
      ? fail(
          `dead letters are kept ${dead} days, readings ${raw} days`,
          'Lower VITALGATE_DEAD_LETTER_RETENTION_DAYS to at most VITALGATE_RETENTION_DAYS: data that was refused should not stay longer than data that was accepted.',
        )
      : pass(`dead letters kept ${dead} days, readings ${raw} days`);
  },
};

export const RETENTION_CHECKS: DeploymentCheck[] = [
  retentionMeetsPolicy,
  retentionEnforced,
  auditPrunedByPolicy,
  retentionRuns,
  deadLettersWithinTelemetryRetention,
];
