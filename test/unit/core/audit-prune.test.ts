// Retention pruning of the audit log: the kept chain stays verifiable from its anchor, verify
// reports what the policy removed, and tampering after a prune is still found.
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/audit.js';
import { openDatabase, type Db } from '../../../core/store/database.js';

/** n entries at t = 100, 200, … (one per 100 ms of a fake clock). */
function logWith(n: number): { db: Db; log: AuditLog; clock: { t: number } } {
  const db = openDatabase(':memory:');
  const clock = { t: 0 };
  const log = new AuditLog(db, () => (clock.t += 100));
  for (let i = 1; i <= n; i++) {
    log.append({ actor: 'cli:ops', action: 'device.add', target: `dev-${i}`, outcome: 'success' });
  }
  return { db, log, clock };
}

const seqs = (db: Db) =>
  (db.prepare('SELECT seq FROM audit_log ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);

describe('AuditLog.prune', () => {
  it('removes the entries older than the cutoff, anchors the chain, and verify reports the prune', () => {
    const { db, log } = logWith(10);
    // Entries 1..4 are at 100..400: older than 450.
    const result = log.prune(450);
    expect(result).toMatchObject({ entries: 4, anchor: { throughSeq: 4, before: 450 } });
    expect(seqs(db)).toEqual([5, 6, 7, 8, 9, 10, 11]);
    const [record] = log.list({ action: 'audit.prune' });
    expect(record).toMatchObject({
      seq: 11,
      actor: 'system',
      details: {
        entries: 4,
        throughSeq: 4,
        anchorHash: result.anchor!.hash,
        before: new Date(450).toISOString(),
      },
    });
    // The anchor is the hash the first kept entry links to.
    expect(log.list({ afterSeq: 4, limit: 1000 }).at(-1)!.prevHash).toBe(result.anchor!.hash);
    expect(log.verify()).toEqual({
      ok: true,
      checked: 7,
      pruned: {
        entries: 4,
        throughSeq: 4,
        at: new Date(result.anchor!.prunedAt).toISOString(),
        before: new Date(450).toISOString(),
      },
    });
  });

  it('keeps verifying across later prunes and appends', () => {
    const { log } = logWith(6);
    log.prune(250);
    log.append({ actor: 'system', action: 'hub.start', outcome: 'success' });
    expect(log.prune(550)).toMatchObject({ entries: 3, anchor: { throughSeq: 5 } });
    expect(log.verify()).toMatchObject({ ok: true, pruned: { entries: 5, throughSeq: 5 } });
  });

  it('prunes nothing and writes nothing when no entry is older than the cutoff', () => {
    const { db, log } = logWith(3);
    expect(log.prune(50)).toEqual({ entries: 0 });
    expect(seqs(db)).toEqual([1, 2, 3]);
    expect(log.verify()).toEqual({ ok: true, checked: 3 });
  });

  it('can prune every entry: the prune record continues the chain', () => {
    const { db, log } = logWith(3);
    expect(log.prune(10_000).entries).toBe(3);
    log.append({ actor: 'system', action: 'hub.stop', outcome: 'success' });
    expect(seqs(db)).toEqual([4, 5]);
    expect(log.verify()).toMatchObject({ ok: true, checked: 2, pruned: { throughSeq: 3 } });
  });

  it('stops at the first entry not older than the cutoff, even when a later one is older', () => {
    const { db, log } = logWith(5);
    // The clock went back for entry 4: only the run 1..2 before entry 3 is pruned.
    db.prepare('UPDATE audit_log SET at = 10 WHERE seq = 4').run();
    expect(log.prune(250).anchor?.throughSeq).toBe(2);
    expect(seqs(db)).toEqual([3, 4, 5, 6]);
  });

  it('still finds an edited kept entry after a prune', () => {
    const { db, log } = logWith(8);
    log.prune(450);
    db.prepare("UPDATE audit_log SET target = 'dev-999' WHERE seq = 6").run();
    expect(log.verify()).toMatchObject({
      ok: false,
      firstBad: { seq: 6, problem: 'hash_mismatch' },
      pruned: { throughSeq: 4 },
    });
  });

  it('finds the first kept entry deleted after a prune', () => {
    const { db, log } = logWith(8);
    log.prune(450);
    db.prepare('DELETE FROM audit_log WHERE seq = 5').run();
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 5, problem: 'missing_entries' } });
  });

  it('refuses an anchor moved to hide more deleted entries', () => {
    const { db, log } = logWith(8);
    log.prune(250);
    // Someone deletes 3..4 and moves the anchor so the chain starts at 5.
    const five = db.prepare('SELECT prev_hash FROM audit_log WHERE seq = 5').get() as { prev_hash: string };
    db.prepare('DELETE FROM audit_log WHERE seq <= 4').run();
    db.prepare("UPDATE meta SET value = ? WHERE key = 'audit_prune_anchor'").run(
      JSON.stringify({ throughSeq: 4, hash: five.prev_hash, prunedAt: 1, before: 1 }),
    );
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 5, problem: 'anchor_mismatch' } });
  });

  it('finds pruned-looking deletions without an anchor, and an unreadable anchor', () => {
    const { db, log } = logWith(5);
    db.prepare('DELETE FROM audit_log WHERE seq <= 2').run();
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 1, problem: 'missing_entries' } });
    db.prepare("INSERT INTO meta (key, value) VALUES ('audit_prune_anchor', 'junk')").run();
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 1, problem: 'anchor_mismatch' } });
    expect(() => log.prune(1_000)).toThrow(/anchor is unreadable/);
  });
});
