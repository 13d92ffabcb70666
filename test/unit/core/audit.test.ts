import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../core/audit.js';
import { openDatabase, type Db } from '../../../core/store/database.js';

function logWith(n: number): { db: Db; log: AuditLog } {
  const db = openDatabase(':memory:');
  let t = 1_000;
  const log = new AuditLog(db, () => (t += 10));
  for (let i = 1; i <= n; i++) {
    log.append({
      actor: 'cli:ops',
      action: 'device.add',
      target: `dev-${i}`,
      outcome: 'success',
      details: { i },
    });
  }
  return { db, log };
}

describe('AuditLog', () => {
  it('chains every entry to the one before it', () => {
    const { log } = logWith(3);
    const [third, second, first] = log.list();
    expect(first!.prevHash).toBe('0'.repeat(64));
    expect(second!.prevHash).toBe(first!.hash);
    expect(third!.prevHash).toBe(second!.hash);
    expect(log.verify()).toEqual({ ok: true, checked: 3 });
  });

  it('verifies an empty log', () => {
    expect(logWith(0).log.verify()).toEqual({ ok: true, checked: 0 });
  });

  it('finds an edited row', () => {
    const { db, log } = logWith(5);
    db.prepare("UPDATE audit_log SET target = 'dev-999' WHERE seq = 3").run();
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 3, problem: 'hash_mismatch' } });
  });

  it('finds an edited details field even when key order is changed', () => {
    const { db, log } = logWith(2);
    db.prepare('UPDATE audit_log SET details = \'{"i":7}\' WHERE seq = 1').run();
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 1 } });
  });

  it('finds an edited row whose own hash was recomputed, at the link after it', () => {
    const { db, log } = logWith(4);
    db.prepare("UPDATE audit_log SET hash = 'f' || substr(hash, 2) WHERE seq = 2").run();
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 2 } });
  });

  it('finds a deleted row', () => {
    const { db, log } = logWith(5);
    db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 2, problem: 'missing_entries' } });
  });

  it('finds rows deleted from the tail', () => {
    const { db, log } = logWith(5);
    db.prepare('DELETE FROM audit_log WHERE seq >= 4').run();
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 4, problem: 'head_mismatch' } });
  });

  it('finds reordered rows', () => {
    const { db, log } = logWith(5);
    db.exec(`
      UPDATE audit_log SET seq = 100 WHERE seq = 2;
      UPDATE audit_log SET seq = 2 WHERE seq = 3;
      UPDATE audit_log SET seq = 3 WHERE seq = 100;
    `);
    expect(log.verify()).toMatchObject({ ok: false, firstBad: { seq: 2 } });
  });

  it('keeps appending after being reopened', () => {
    const { db, log } = logWith(2);
    const again = new AuditLog(db);
    again.append({ actor: 'system', action: 'hub.start', outcome: 'success' });
    expect(log.verify()).toEqual({ ok: true, checked: 3 });
  });

  it('filters listings and tells subscribers', () => {
    const { log } = logWith(3);
    const seen: string[] = [];
    log.subscribe((e) => seen.push(e.action));
    log.append({ actor: 'user:alice', action: 'auth.login', outcome: 'denied', source: '10.0.0.5' });
    expect(seen).toEqual(['auth.login']);
    expect(log.list({ outcome: 'denied' })).toHaveLength(1);
    expect(log.list({ target: 'dev-2' })[0]!.details).toEqual({ i: 2 });
    expect(log.list({ limit: 2 })).toHaveLength(2);
  });
});
