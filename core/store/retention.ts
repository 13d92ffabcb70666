// Retention of everything in the control plane that grows: which rows have expired, how long
// each kind is kept (one `VITALGATE_*_RETENTION_DAYS` setting each) and the policy floor below
// which a setting is flagged (the hub warns at start and check VG-AUD-002 fails or warns; the
// value is not refused, so a site that archives elsewhere can keep less here, knowingly).
// The audit log is pruned through AuditLog.prune, which keeps the chain verifiable.
import type { HubConfig } from '../config.js';
import type { ControlPlane } from './control-plane.js';

const DAY = 86_400_000;

export type RetainedKind =
  | 'auditEntries'
  | 'securityEvents'
  | 'deadLetters'
  | 'alerts'
  | 'apiSessions'
  | 'loginChallenges'
  | 'checkRuns';

export interface RetentionRule {
  kind: RetainedKind;
  /** The setting that holds the number of days. */
  setting: keyof HubConfig &
    (
      | 'auditRetentionDays'
      | 'securityEventRetentionDays'
      | 'deadLetterRetentionDays'
      | 'alertRetentionDays'
      | 'apiSessionRetentionDays'
      | 'loginChallengeRetentionDays'
      | 'checkRunRetentionDays'
    );
  /** Fewer days than this is below policy. */
  floorDays: number;
  /** Where the floor comes from. */
  basis: string;
  /** A floor required by law (HIPAA) rather than by operations: going below it fails VG-AUD-002. */
  regulatory: boolean;
  table: string;
  /** SQL condition of a row that has expired, given `@before` (ms since the epoch). */
  expired: string;
}

const HIPAA_DOCUMENTATION = '45 CFR 164.316(b)(2)(i): six years';

export const RETENTION_RULES: readonly RetentionRule[] = [
  {
    kind: 'auditEntries',
    setting: 'auditRetentionDays',
    floorDays: 2190,
    basis: HIPAA_DOCUMENTATION,
    regulatory: true,
    table: 'audit_log',
    expired: 'at < @before',
  },
  {
    kind: 'securityEvents',
    setting: 'securityEventRetentionDays',
    floorDays: 2190,
    basis: `${HIPAA_DOCUMENTATION} (security incident documentation, 164.308(a)(6)(ii))`,
    regulatory: true,
    table: 'security_events',
    expired: 'at < @before',
  },
  {
    kind: 'deadLetters',
    setting: 'deadLetterRetentionDays',
    floorDays: 7,
    basis: 'a week to investigate faulty firmware or an attack',
    regulatory: false,
    table: 'dead_letters',
    expired: 'received_at < @before',
  },
  {
    kind: 'alerts',
    setting: 'alertRetentionDays',
    floorDays: 90,
    basis: 'a quarter of cleared alerts for clinical review; open and acknowledged alerts are never pruned',
    regulatory: false,
    table: 'alerts',
    expired: "status = 'cleared' AND cleared_at < @before",
  },
  {
    kind: 'apiSessions',
    setting: 'apiSessionRetentionDays',
    floorDays: 30,
    basis: 'a month of ended sessions for access review (logins stay in the audit log)',
    regulatory: false,
    table: 'api_sessions',
    expired: '(ended_at IS NOT NULL AND ended_at < @before) OR expires_at < @before',
  },
  {
    kind: 'loginChallenges',
    setting: 'loginChallengeRetentionDays',
    floorDays: 1,
    basis: 'a day of spent or expired login steps',
    regulatory: false,
    table: 'login_challenges',
    expired: 'expires_at < @before OR (spent_at IS NOT NULL AND spent_at < @before)',
  },
  {
    kind: 'checkRuns',
    setting: 'checkRunRetentionDays',
    floorDays: 90,
    basis: 'a quarter of deployment check history; the latest report is always kept',
    regulatory: false,
    table: 'check_runs',
    expired: 'started_at < @before AND id < (SELECT MAX(id) FROM check_runs)',
  },
];

export type RetentionCounts = Record<RetainedKind, number>;

/** The cutoff of a rule: rows older than this have expired. */
export function retentionCutoff(config: HubConfig, rule: RetentionRule, now: number): number {
  return now - config[rule.setting] * DAY;
}

/** Settings below their policy floor. */
export function retentionBelowPolicy(config: HubConfig): { rule: RetentionRule; days: number }[] {
  return RETENTION_RULES.filter((rule) => config[rule.setting] < rule.floorDays).map((rule) => ({
    rule,
    days: config[rule.setting],
  }));
}

/** How many rows of each kind are older than their setting (`slackMs` later than the cutoff). */
export function countExpired(
  store: ControlPlane,
  config: HubConfig,
  now: number,
  slackMs = 0,
): RetentionCounts {
  const counts = {} as RetentionCounts;
  for (const rule of RETENTION_RULES) {
    const row = store.db
      .prepare(`SELECT COUNT(*) AS n FROM ${rule.table} WHERE ${rule.expired}`)
      .get({ before: retentionCutoff(config, rule, now) - slackMs }) as { n: number };
    counts[rule.kind] = row.n;
  }
  return counts;
}

/** Deletes every expired row; the audit log through its anchored prune. Returns the counts. */
export function pruneExpired(
  store: ControlPlane,
  config: HubConfig,
  now: number,
  actor = 'system',
): RetentionCounts {
  const counts = {} as RetentionCounts;
  for (const rule of RETENTION_RULES) {
    const before = retentionCutoff(config, rule, now);
    counts[rule.kind] =
      rule.kind === 'auditEntries'
        ? store.audit.prune(before, actor).entries
        : store.db.prepare(`DELETE FROM ${rule.table} WHERE ${rule.expired}`).run({ before }).changes;
  }
  return counts;
}
