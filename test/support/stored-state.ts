// What a hub has stored and granted, as one comparable value: a digest of every control-plane
// table but the ones that record refusals themselves (audit trail, security events, the login
// throttle, dead letters, the audit chain's head in meta), plus row counts of those that refusal may touch in passing (sessions
// are touched on every request). Refusal tests take it before and after: equal means nothing
// was stored or granted.
import { createHash } from 'node:crypto';
import type { ControlPlane } from '../../core/store/control-plane.js';

/** Tables that record a refusal (compared by the tests that expect one), not state it could grant. */
const REFUSAL_RECORDS = new Set(['audit_log', 'security_events', 'login_throttle', 'dead_letters']);
/** Tables compared by row count: a refused request may touch a row (last seen), never add one. */
const COUNTED = new Set(['api_sessions', 'login_challenges']);

export function storedState(store: ControlPlane): Record<string, string | number> {
  const tables = (
    store.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as {
      name: string;
    }[]
  )
    .map((t) => t.name)
    .filter((name) => !REFUSAL_RECORDS.has(name))
    .sort();
  const state: Record<string, string | number> = {};
  for (const name of tables) {
    if (COUNTED.has(name)) {
      state[name] = (store.db.prepare(`SELECT COUNT(*) AS n FROM "${name}"`).get() as { n: number }).n;
      continue;
    }
    // The audit chain's head and anchors live in meta: they move with every audit entry.
    const where = name === 'meta' ? " WHERE key NOT LIKE 'audit\\_%' ESCAPE '\\'" : '';
    const rows = store.db.prepare(`SELECT * FROM "${name}"${where} ORDER BY rowid`).raw().all();
    state[name] = createHash('sha256')
      .update(JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)))
      .digest('hex');
  }
  return state;
}

/** Dead letters of one device: the record a refused payload leaves. */
export function deadLetterCount(store: ControlPlane, deviceId: string): number {
  return store.deadLetters.list({ deviceId, limit: 10_000 }).length;
}
