// Retention of every growing control-plane table: for each setting, a row just older than it
// goes and a row just newer stays; each run is audited with counts only; the audit log is pruned
// through its anchor and still verifies.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type HubConfig } from '../../../core/config.js';
import { ApiSessionRepository } from '../../../core/store/api-sessions.js';
import { ControlPlane } from '../../../core/store/control-plane.js';
import { openDatabase } from '../../../core/store/database.js';
import { LoginChallengeRepository } from '../../../core/store/login-challenges.js';
import {
  countExpired,
  RETENTION_RULES,
  retentionBelowPolicy,
  type RetainedKind,
} from '../../../core/store/retention.js';
import { Writable } from 'node:stream';
import { createLogger } from '../../../core/logger.js';
import { enforceRetention, RETENTION_LAST_RUN_KEY, startRetention } from '../../../hub/retention.js';
import { deadLetter } from '../../support/dead-letters.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2031, 0, 1);

let clock: number;
let store: ControlPlane;
let config: HubConfig;

beforeEach(() => {
  clock = NOW;
  store = new ControlPlane(openDatabase(':memory:'), () => clock);
  config = loadConfig({ env: {} });
  store.users.add({ username: 'dr.grey', role: 'clinician', passwordHash: 'x', mustChangePassword: false });
});
afterEach(() => store.close());

/** Adds one row of a kind, dated `at`; returns how to find it again. */
function seed(kind: RetainedKind, at: number, tag: string): void {
  clock = at;
  switch (kind) {
    case 'auditEntries':
      store.audit.append({ actor: 'system', action: 'test.row', target: tag, outcome: 'success' });
      break;
    case 'securityEvents':
      store.securityEvents.add({ kind: 'test', severity: 'low', details: { tag } });
      break;
    case 'deadLetters':
      store.deadLetters.add(deadLetter(tag, at));
      break;
    case 'alerts': {
      const alert = store.alerts.raise({
        patientId: null,
        deviceId: tag,
        rule: 'spo2_low',
        severity: 'high',
      });
      store.alerts.clear(alert.id);
      break;
    }
    case 'apiSessions': {
      const sessions = new ApiSessionRepository(store.db);
      sessions.add({
        tokenHash: tag,
        username: 'dr.grey',
        createdAt: at - 1000,
        lastSeenAt: at - 1000,
        expiresAt: at + DAY,
        source: null,
      });
      sessions.end(tag, at, 'logout');
      break;
    }
    case 'loginChallenges':
      new LoginChallengeRepository(store.db).add({
        idHash: tag,
        username: 'dr.grey',
        stage: 'totp',
        sealedPendingSecret: null,
        source: null,
        createdAt: at - 1000,
        expiresAt: at,
      });
      break;
    case 'checkRuns':
      store.checkRuns.add({ startedAt: at, finishedAt: at, failing: false, report: { tag } });
      break;
  }
  clock = NOW;
}

function remaining(kind: RetainedKind): string[] {
  const rule = RETENTION_RULES.find((r) => r.kind === kind)!;
  const column = {
    auditEntries: 'target',
    securityEvents: "json_extract(details, '$.tag')",
    deadLetters: 'device_id',
    alerts: 'device_id',
    apiSessions: 'token_hash',
    loginChallenges: 'id_hash',
    checkRuns: "json_extract(report, '$.tag')",
  }[kind];
  return (
    store.db.prepare(`SELECT ${column} AS tag FROM ${rule.table} WHERE ${column} IS NOT NULL`).all() as {
      tag: string;
    }[]
  )
    .map((r) => r.tag)
    .sort();
}

describe('retention', () => {
  it.each(RETENTION_RULES.map((r) => [r.kind, r.setting] as const))(
    '%s: a row older than %s goes, a newer one stays',
    (kind, setting) => {
      const cutoff = NOW - config[setting] * DAY;
      seed(kind, cutoff - 60_000, 'old');
      seed(kind, cutoff + 60_000, 'new');
      expect(remaining(kind)).toEqual(['new', 'old']);
      expect(countExpired(store, config, NOW)[kind]).toBe(1);

      const counts = enforceRetention(store, config, NOW);

      expect(counts[kind]).toBe(1);
      expect(remaining(kind)).toEqual(['new']);
      expect(countExpired(store, config, NOW)[kind]).toBe(0);
      const [entry] = store.audit.list({ action: 'retention.prune' });
      expect(entry).toMatchObject({ actor: 'system', outcome: 'success', details: { [kind]: 1 } });
      // Counts only: every value of the audit entry is a number.
      expect(Object.values(entry!.details!).every((v) => typeof v === 'number')).toBe(true);
      expect(store.meta.get(RETENTION_LAST_RUN_KEY)).toBe(new Date(NOW).toISOString());
      expect(store.audit.verify().ok).toBe(true);
    },
  );

  it('prunes the audit log through its anchor: verify passes and reports the prune', () => {
    const cutoff = NOW - config.auditRetentionDays * DAY;
    for (let i = 0; i < 3; i++) seed('auditEntries', cutoff - (3 - i) * DAY, `old-${i}`);
    seed('auditEntries', cutoff + DAY, 'kept');
    enforceRetention(store, config, NOW);
    expect(store.audit.list({ action: 'audit.prune' })[0]!.details).toMatchObject({
      entries: 3,
      throughSeq: 3,
    });
    expect(store.audit.verify()).toMatchObject({ ok: true, pruned: { entries: 3, throughSeq: 3 } });
    store.db.prepare("UPDATE audit_log SET target = 'edited' WHERE target = 'kept'").run();
    expect(store.audit.verify()).toMatchObject({ ok: false, firstBad: { seq: 4, problem: 'hash_mismatch' } });
  });

  it('never prunes open or acknowledged alerts, nor the latest check report', () => {
    clock = NOW - 5000 * DAY;
    const open = store.alerts.raise({
      patientId: null,
      deviceId: 'open',
      rule: 'spo2_low',
      severity: 'high',
    });
    const acked = store.alerts.raise({
      patientId: null,
      deviceId: 'acked',
      rule: 'spo2_low',
      severity: 'high',
    });
    store.alerts.acknowledge(acked.id, 'dr.grey');
    store.checkRuns.add({ startedAt: clock, finishedAt: clock, failing: false, report: { tag: 'only' } });
    clock = NOW;
    enforceRetention(store, config, NOW);
    expect(store.alerts.get(open.id)).toBeDefined();
    expect(store.alerts.get(acked.id)).toBeDefined();
    expect(remaining('checkRuns')).toEqual(['only']);
  });

  it('prunes a session that expired without being ended', () => {
    const sessions = new ApiSessionRepository(store.db);
    const old = NOW - (config.apiSessionRetentionDays + 1) * DAY;
    sessions.add({
      tokenHash: 'abandoned',
      username: 'dr.grey',
      createdAt: old,
      lastSeenAt: old,
      expiresAt: old + 1000,
      source: null,
    });
    expect(enforceRetention(store, config, NOW).apiSessions).toBe(1);
    expect(sessions.get('abandoned')).toBeUndefined();
  });

  it('writes no audit entry when nothing expired', () => {
    seed('securityEvents', NOW - DAY, 'recent');
    expect(Object.values(enforceRetention(store, config, NOW)).every((n) => n === 0)).toBe(true);
    expect(store.audit.list({ action: 'retention.prune' })).toEqual([]);
  });

  it('defaults meet every policy floor; the audit log keeps six years; shorter settings are flagged', () => {
    expect(config.auditRetentionDays).toBeGreaterThanOrEqual(2190);
    expect(retentionBelowPolicy(config)).toEqual([]);
    const short = loadConfig({
      env: { VITALGATE_AUDIT_RETENTION_DAYS: '365', VITALGATE_DEAD_LETTER_RETENTION_DAYS: '1' },
    });
    expect(retentionBelowPolicy(short).map((b) => [b.rule.setting, b.days])).toEqual([
      ['auditRetentionDays', 365],
      ['deadLetterRetentionDays', 1],
    ]);
    expect(() => loadConfig({ env: { VITALGATE_AUDIT_RETENTION_DAYS: '0' } })).toThrow(
      /VITALGATE_AUDIT_RETENTION_DAYS/,
    );
  });

  it('the hub flags settings below policy at start and prunes before returning', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString().trim());
        done();
      },
    });
    const short = loadConfig({ env: { VITALGATE_AUDIT_RETENTION_DAYS: '30' } });
    seed('securityEvents', Date.now() - (short.securityEventRetentionDays + 1) * DAY, 'old');
    const timer = startRetention(store, short, createLogger({ destination, level: 'warn' }));
    clearInterval(timer);
    expect(remaining('securityEvents')).toEqual([]);
    const warnings = lines.map((l) => JSON.parse(l) as { msg: string; setting: string });
    expect(warnings).toEqual([
      expect.objectContaining({
        setting: 'VITALGATE_AUDIT_RETENTION_DAYS',
        msg: expect.stringContaining(
          'retention below policy: VITALGATE_AUDIT_RETENTION_DAYS keeps 30 days, policy is 2190',
        ),
      }),
    ]);
  });
});
