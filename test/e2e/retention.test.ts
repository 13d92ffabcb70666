// Retention end to end: `vitalgate start` prunes what is older than each retention setting
// before it reports ready (and audits the counts), and `vitalgate audit verify` reports entries
// pruned by policy as such, while an edit of a kept entry still fails it.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiSessionRepository } from '../../core/store/api-sessions.js';
import { ControlPlane } from '../../core/store/control-plane.js';
import { LoginChallengeRepository } from '../../core/store/login-challenges.js';
import { RETENTION_LAST_RUN_KEY } from '../../hub/retention.js';
import { runCli } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';
import { testInflux, type TestInflux } from '../support/influx.js';
import { startHubProcess } from '../support/hub-process.js';
import { deadLetter } from '../support/dead-letters.js';

const DAY = 86_400_000;

let pki: TestPki;
let influx: TestInflux;
let env: Record<string, string>;

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  env = {
    VITALGATE_DATA_DIR: pki.dataDir,
    VITALGATE_INFLUX_URL: influx.url,
    VITALGATE_INFLUX_DB: influx.database,
    VITALGATE_CHECKS_INTERVAL_MINUTES: '0',
  };
}, 60_000);
afterAll(async () => {
  await influx?.drop();
  pki?.cleanup();
});

/** One row of each growing kind dated `at` (tagged `tag`), written the way the hub writes them. */
function seed(at: number, tag: string): void {
  const store = ControlPlane.open(pki.dataDir, () => at);
  try {
    if (!store.users.get('dr.ret'))
      store.users.add({
        username: 'dr.ret',
        role: 'clinician',
        passwordHash: 'x',
        mustChangePassword: false,
      });
    store.securityEvents.add({ kind: 'test', severity: 'low', deviceId: tag });
    store.deadLetters.add(deadLetter(tag, at));
    const alert = store.alerts.raise({ patientId: null, deviceId: tag, rule: 'spo2_low', severity: 'high' });
    store.alerts.clear(alert.id);
    const sessions = new ApiSessionRepository(store.db);
    sessions.add({
      tokenHash: tag,
      username: 'dr.ret',
      createdAt: at,
      lastSeenAt: at,
      expiresAt: at + 1000,
      source: null,
    });
    sessions.end(tag, at, 'logout');
    new LoginChallengeRepository(store.db).add({
      idHash: tag,
      username: 'dr.ret',
      stage: 'totp',
      sealedPendingSecret: null,
      source: null,
      createdAt: at,
      expiresAt: at + 1000,
    });
    store.checkRuns.add({ startedAt: at, finishedAt: at, failing: false, report: { tag } });
  } finally {
    store.close();
  }
}

function tagsLeft(): Record<string, string[]> {
  const db = new Database(join(pki.dataDir, 'control-plane.sqlite'), { readonly: true });
  try {
    const tags = (sql: string) => (db.prepare(sql).all() as { t: string }[]).map((r) => r.t).sort();
    return {
      securityEvents: tags("SELECT device_id AS t FROM security_events WHERE kind = 'test'"),
      deadLetters: tags('SELECT device_id AS t FROM dead_letters'),
      alerts: tags('SELECT device_id AS t FROM alerts'),
      apiSessions: tags('SELECT token_hash AS t FROM api_sessions'),
      loginChallenges: tags('SELECT id_hash AS t FROM login_challenges'),
      checkRuns: tags("SELECT json_extract(report, '$.tag') AS t FROM check_runs"),
    };
  } finally {
    db.close();
  }
}

describe('retention in the running hub', () => {
  it('prunes every expired row at start, keeps the rest, and audits the counts', async () => {
    seed(Date.now() - 2200 * DAY, 'old'); // older than every default setting
    seed(Date.now() - DAY, 'new');
    const both = ['new', 'old'];
    expect(tagsLeft()).toEqual({
      securityEvents: both,
      deadLetters: both,
      alerts: both,
      apiSessions: both,
      loginChallenges: both,
      checkRuns: both,
    });

    const hub = await startHubProcess(env);
    try {
      expect(tagsLeft()).toEqual({
        securityEvents: ['new'],
        deadLetters: ['new'],
        alerts: ['new'],
        apiSessions: ['new'],
        loginChallenges: ['new'],
        checkRuns: ['new'],
      });
      const [entry] = pki.store.audit.list({ action: 'retention.prune' });
      expect(entry).toMatchObject({
        actor: 'system',
        details: {
          securityEvents: 1,
          deadLetters: 1,
          alerts: 1,
          apiSessions: 1,
          loginChallenges: 1,
          checkRuns: 1,
        },
      });
      expect(pki.store.meta.get(RETENTION_LAST_RUN_KEY)).toEqual(expect.any(String));
    } finally {
      await hub.stop();
    }
  }, 90_000);
});

describe('vitalgate audit verify after a prune', () => {
  it('reports the entries pruned by policy and still finds an edited kept entry', async () => {
    // Six years on: every entry so far has expired and the hub prunes them.
    const later = Date.now() + 2191 * DAY;
    const store = ControlPlane.open(pki.dataDir, () => later);
    const { entries, anchor } = store.audit.prune(later - 2190 * DAY);
    store.audit.append({ actor: 'system', action: 'hub.start', outcome: 'success' });
    store.close();
    expect(entries).toBeGreaterThan(0);

    const ok = await runCli(['audit', 'verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(
      `audit chain intact: 2 entries verified; entries 1-${anchor!.throughSeq} (${anchor!.throughSeq}) pruned by the retention policy`,
    );
    const json = await runCli(['audit', 'verify', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      checked: 2,
      pruned: { entries: anchor!.throughSeq, throughSeq: anchor!.throughSeq },
    });

    const db = new Database(join(pki.dataDir, 'control-plane.sqlite'));
    db.prepare("UPDATE audit_log SET actor = 'cli:mallory' WHERE action = 'hub.start' AND seq > ?").run(
      anchor!.throughSeq,
    );
    db.close();
    const broken = await runCli(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`audit chain broken at entry ${anchor!.throughSeq + 2} (hash mismatch)`);
    expect(broken.stderr).toContain('pruned by the retention policy');
  });
});
