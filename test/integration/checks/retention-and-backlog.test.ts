// Retention and backlog checks (VG-AUD-002..005, VG-DATA-010..012) against a real hub
// data dir: a real control plane and a real on-disk spool, each check made to fail and to pass.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type HubConfig } from '../../../core/config.js';
import { ControlPlane } from '../../../core/store/control-plane.js';
import type { CheckContext, DeploymentCheck, LiveHub } from '../../../hub/checks/check.js';
import * as backlog from '../../../hub/checks/backlog.js';
import * as retention from '../../../hub/checks/retention.js';
import { enforceRetention, RETENTION_LAST_RUN_KEY } from '../../../hub/retention.js';
import { SPOOL_DIR } from '../../../ingest/pipeline.js';
import { Spool } from '../../../ingest/spool.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { deadLetter } from '../../support/dead-letters.js';

const DAY = 86_400_000;
const MINUTE = 60_000;
const live: LiveHub = { mqtt: { host: '127.0.0.1', port: 8883 }, liveSessions: () => [] };

let pki: TestPki;
beforeEach(async () => {
  pki = await createTestPki();
});
afterEach(() => pki.cleanup());

const config = (env: Record<string, string> = {}): HubConfig =>
  loadConfig({ env: { VITALGATE_DATA_DIR: pki.dataDir, ...env } });
const run = (check: DeploymentCheck, overrides: Partial<CheckContext> = {}) =>
  Promise.resolve(check.run(checkContext(pki, overrides)));

describe('VG-AUD-002 retention settings meet policy', () => {
  it('passes on the defaults', async () => {
    expect(await run(retention.retentionMeetsPolicy)).toMatchObject({ status: 'pass' });
  });

  it('fails when the audit log keeps less than six years, warns below an operational floor', async () => {
    expect(
      await run(retention.retentionMeetsPolicy, {
        config: config({ VITALGATE_AUDIT_RETENTION_DAYS: '365' }),
      }),
    ).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('VITALGATE_AUDIT_RETENTION_DAYS=365'),
    });
    expect(
      await run(retention.retentionMeetsPolicy, {
        config: config({ VITALGATE_DEAD_LETTER_RETENTION_DAYS: '2' }),
      }),
    ).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('VITALGATE_DEAD_LETTER_RETENTION_DAYS=2'),
    });
  });
});

describe('VG-AUD-003 retention is enforced', () => {
  it('fails while a row is older than its setting and passes once the hub pruned it', async () => {
    const now = Date.now();
    pki.store.deadLetters.add(deadLetter('ox-old', now - 40 * DAY));
    expect(await run(retention.retentionEnforced, { now })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining(
        '1 dead_letters rows older than VITALGATE_DEAD_LETTER_RETENTION_DAYS=30',
      ),
    });
    enforceRetention(pki.store, pki.config, now);
    expect(await run(retention.retentionEnforced, { now })).toMatchObject({ status: 'pass' });
  });
});

describe('VG-AUD-004 audit entries pruned only by policy', () => {
  /** The hub's control plane as it will be `days` from now (the prune record is dated then). */
  const later = (days: number) => {
    const now = Date.now() + days * DAY;
    const store = ControlPlane.open(pki.dataDir, () => now);
    opened.push(store);
    return { now, store };
  };
  const opened: ControlPlane[] = [];
  afterEach(() => {
    for (const store of opened.splice(0)) store.close();
  });

  it('passes before any prune and after a prune by the six-year policy', async () => {
    expect(await run(retention.auditPrunedByPolicy)).toMatchObject({
      status: 'pass',
      evidence: 'no audit entry was ever pruned',
    });
    const { now, store } = later(2191); // six years on, every entry so far has expired
    enforceRetention(store, pki.config, now);
    expect(await run(retention.auditPrunedByPolicy, { now, store })).toMatchObject({
      status: 'pass',
      evidence: expect.stringMatching(/^entries 1-\d+ pruned by policy/),
    });
  });

  it('fails after a prune under a retention shorter than six years', async () => {
    const { now, store } = later(31);
    enforceRetention(store, config({ VITALGATE_AUDIT_RETENTION_DAYS: '30' }), now);
    expect(await run(retention.auditPrunedByPolicy, { now, store })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('younger than 2190 days'),
    });
  });

  it('fails when the prune anchor was moved or removed', async () => {
    const { now, store } = later(2191);
    enforceRetention(store, pki.config, now);
    const anchor = pki.store.audit.pruneAnchor() as { throughSeq: number };
    pki.store.meta.set(
      'audit_prune_anchor',
      JSON.stringify({ ...anchor, throughSeq: anchor.throughSeq + 1 }),
    );
    expect(await run(retention.auditPrunedByPolicy, { now })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('matches no audit.prune entry'),
    });
    pki.store.db.prepare("DELETE FROM meta WHERE key = 'audit_prune_anchor'").run();
    expect(await run(retention.auditPrunedByPolicy, { now })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('but no prune anchor'),
    });
  });
});

describe('VG-AUD-005 the running hub enforces retention', () => {
  it('fails for a running hub that never ran it or ran it too long ago, passes after a run', async () => {
    const now = Date.now();
    expect(await run(retention.retentionRuns, { live, now })).toMatchObject({ status: 'fail' });
    enforceRetention(pki.store, pki.config, now - 3 * 3_600_000);
    expect(await run(retention.retentionRuns, { live, now })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('3 h ago'),
    });
    enforceRetention(pki.store, pki.config, now);
    expect(await run(retention.retentionRuns, { live, now })).toMatchObject({ status: 'pass' });
    expect(pki.store.meta.get(RETENTION_LAST_RUN_KEY)).toBe(new Date(now).toISOString());
    expect((await run(retention.retentionRuns, { now })).status).toBe('not_applicable');
  });
});

describe('VG-DATA-012 dead letters do not outlive the telemetry', () => {
  it('passes on the defaults and fails when dead letters are kept longer than readings', async () => {
    expect(await run(retention.deadLettersWithinTelemetryRetention)).toMatchObject({
      status: 'pass',
      evidence: 'dead letters kept 30 days, readings 90 days',
    });
    expect(
      await run(retention.deadLettersWithinTelemetryRetention, {
        config: config({ VITALGATE_DEAD_LETTER_RETENTION_DAYS: '120' }),
      }),
    ).toMatchObject({ status: 'fail', evidence: 'dead letters are kept 120 days, readings 90 days' });
  });
});

describe('VG-DATA-010 a running hub’s spool drains', () => {
  it('fails while the oldest unconfirmed record waits longer than the setting, passes once confirmed', async () => {
    const t0 = Date.now() - 60 * MINUTE;
    // Tiny segments: each record gets its own, so the cursor crosses segment ends.
    const spool = Spool.open({
      dir: join(pki.dataDir, SPOOL_DIR),
      segmentBytes: 32,
      quotaBytes: 1 << 20,
      groupCommitMs: 0,
      now: () => t0,
    });
    try {
      expect(await run(backlog.spoolDrains, { live })).toMatchObject({
        status: 'pass',
        evidence: 'every spooled reading is confirmed in InfluxDB',
      });
      for (let i = 0; i < 3; i++) await spool.append(Buffer.from(`record-${i}`));
      const [first] = spool.read(spool.confirmed(), 1);
      await spool.confirm(first!.next);

      const stalled = await run(backlog.spoolDrains, { live, now: t0 + 20 * MINUTE });
      expect(stalled).toMatchObject({
        status: 'fail',
        evidence: expect.stringContaining(
          `record 2 spooled at ${new Date(t0).toISOString()}: waiting 20 min`,
        ),
      });
      expect(await run(backlog.spoolDrains, { live, now: t0 + 5 * MINUTE })).toMatchObject({
        status: 'pass',
      });
      expect(await run(backlog.spoolDrains, { now: t0 + 20 * MINUTE })).toMatchObject({
        status: 'not_applicable',
      });

      await spool.confirm(spool.end);
      expect(await run(backlog.spoolDrains, { live, now: t0 + 20 * MINUTE })).toMatchObject({
        status: 'pass',
      });
    } finally {
      await spool.close();
    }
  });
});

describe('VG-DATA-011 no device piles up dead letters', () => {
  it('fails when one device sends many invalid messages in an hour, passes when they are spread or old', async () => {
    const now = Date.now();
    const add = (deviceId: string, receivedAt: number) =>
      pki.store.deadLetters.add(deadLetter(deviceId, receivedAt));
    for (let i = 0; i < 49; i++) add('ox-noisy', now - MINUTE);
    for (let i = 0; i < 60; i++) add('ox-past', now - 2 * 3_600_000);
    expect(await run(backlog.deadLettersPerDevice, { now })).toMatchObject({
      status: 'pass',
      evidence: '49 dead letters in the last hour, at most 49 from one device',
    });
    add('ox-noisy', now - MINUTE);
    expect(await run(backlog.deadLettersPerDevice, { now })).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('ox-noisy (50)'),
    });
  });
});
