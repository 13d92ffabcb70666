// The audit log: append-only and hash-chained. Each entry holds the hash of the one before it,
// and its own hash covers its content and that link. The newest (seq, hash) is also kept as an
// anchor in `meta`, so deleting entries from the tail is detected too. The hub and the CLI may
// append at the same time: each append is one IMMEDIATE transaction.
import { createHash } from 'node:crypto';
import type { Db } from './store/database.js';

export const GENESIS_HASH = '0'.repeat(64);
const HEAD_KEY = 'audit_head';

export type AuditOutcome = 'success' | 'failure' | 'denied';

export interface AuditEntryInput {
  /** `user:<name>`, `cli:<os user>`, `device:<id>`, `system`. */
  actor: string;
  /** Dotted verb, e.g. `pki.certificate.issue`, `auth.login`, `phi.read`. */
  action: string;
  target?: string | undefined;
  outcome: AuditOutcome;
  /** Source address, when there is one. */
  source?: string | undefined;
  /** Context without PHI: ids, codes, reasons. */
  details?: Record<string, unknown> | undefined;
}

export interface AuditEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  source: string | null;
  details: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
}

export interface AuditQuery {
  from?: number;
  to?: number;
  actor?: string;
  action?: string;
  target?: string;
  outcome?: AuditOutcome;
  afterSeq?: number;
  limit?: number;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  /** The first entry that does not fit the chain, and why. */
  firstBad?: { seq: number; problem: 'hash_mismatch' | 'broken_link' | 'missing_entries' | 'head_mismatch' };
}

interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  source: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}

/** JSON with object keys sorted, so the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    }
    return v;
  });
}

function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const content = canonicalJson([
    e.seq,
    e.at,
    e.actor,
    e.action,
    e.target,
    e.outcome,
    e.source,
    e.details,
    e.prevHash,
  ]);
  return createHash('sha256').update(content).digest('hex');
}

function fromRow(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome,
    source: row.source,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export type AuditListener = (entry: AuditEntry) => void;

export class AuditLog {
  private readonly listeners = new Set<AuditListener>();
  private readonly appendTx: (input: AuditEntryInput) => AuditEntry;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    const last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const insert = db.prepare(
      'INSERT INTO audit_log (seq, at, actor, action, target, outcome, source, details, prev_hash, hash) VALUES (@seq, @at, @actor, @action, @target, @outcome, @source, @details, @prevHash, @hash)',
    );
    const setHead = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    const tx = db.transaction((input: AuditEntryInput): AuditEntry => {
      const prev = last.get() as { seq: number; hash: string } | undefined;
      const unhashed = {
        seq: (prev?.seq ?? 0) + 1,
        at: this.now(),
        actor: input.actor,
        action: input.action,
        target: input.target ?? null,
        outcome: input.outcome,
        source: input.source ?? null,
        details: input.details ? (JSON.parse(canonicalJson(input.details)) as Record<string, unknown>) : null,
        prevHash: prev?.hash ?? GENESIS_HASH,
      };
      const entry: AuditEntry = { ...unhashed, hash: entryHash(unhashed) };
      insert.run({ ...entry, details: entry.details === null ? null : canonicalJson(entry.details) });
      setHead.run(HEAD_KEY, `${entry.seq}:${entry.hash}`);
      return entry;
    });
    this.appendTx = (input) => tx.immediate(input);
  }

  append(input: AuditEntryInput): AuditEntry {
    const entry = this.appendTx(input);
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  /** Called after each append in this process (security events, live feeds). */
  subscribe(listener: AuditListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(query: AuditQuery = {}): AuditEntry[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    const add = (sql: string, key: keyof AuditQuery) => {
      if (query[key] !== undefined) {
        where.push(sql);
        params[key] = query[key];
      }
    };
    add('at >= @from', 'from');
    add('at <= @to', 'to');
    add('actor = @actor', 'actor');
    add('action = @action', 'action');
    add('target = @target', 'target');
    add('outcome = @outcome', 'outcome');
    add('seq > @afterSeq', 'afterSeq');
    params.limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as AuditRow[]).map(fromRow);
  }

  /** Walks the whole chain and reports the first entry that does not fit. */
  verify(): AuditVerification {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let checked = 0;
    for (const row of this.db
      .prepare('SELECT * FROM audit_log ORDER BY seq')
      .iterate() as Iterable<AuditRow>) {
      const entry = fromRow(row);
      if (entry.seq !== expectedSeq)
        return { ok: false, checked, firstBad: { seq: expectedSeq, problem: 'missing_entries' } };
      if (entry.prevHash !== prevHash)
        return { ok: false, checked, firstBad: { seq: entry.seq, problem: 'broken_link' } };
      const { hash, ...unhashed } = entry;
      if (entryHash(unhashed) !== hash)
        return { ok: false, checked, firstBad: { seq: entry.seq, problem: 'hash_mismatch' } };
      prevHash = hash;
      expectedSeq += 1;
      checked += 1;
    }
    const head = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(HEAD_KEY) as
      { value: string } | undefined;
    const tail = checked === 0 ? undefined : `${expectedSeq - 1}:${prevHash}`;
    if (head?.value !== tail) {
      return { ok: false, checked, firstBad: { seq: expectedSeq, problem: 'head_mismatch' } };
    }
    return { ok: true, checked };
  }
}
