// The audit log: append-only and hash-chained. Each entry holds the hash of the one before it,
// and its own hash covers its content and that link. The newest (seq, hash) is also kept as an
// anchor in `meta`, so deleting entries from the tail is detected too. The hub and the CLI may
// append at the same time: each append is one IMMEDIATE transaction.
//
// Retention prunes the oldest entries (`prune`): in one transaction it deletes a run of entries
// from the start, keeps the last pruned entry's (seq, hash) as the prune anchor in `meta`, and
// appends an `audit.prune` entry that repeats the anchor inside the chain. `verify` starts the
// walk at the anchor, reports what was pruned by policy, and refuses an anchor that no
// `audit.prune` entry of the chain vouches for.
import { createHash } from 'node:crypto';
import { VitalGateError } from './errors.js';
import type { Db } from './store/database.js';

export const GENESIS_HASH = '0'.repeat(64);
const HEAD_KEY = 'audit_head';
const PRUNE_ANCHOR_KEY = 'audit_prune_anchor';
export const AUDIT_PRUNE_ACTION = 'audit.prune';

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
  /** Entries older than this one: the next page of a newest-first listing. */
  beforeSeq?: number;
  limit?: number;
}

/** Where the kept chain starts after retention pruned the entries before it. */
export interface AuditPruneAnchor {
  /** Entries 1..throughSeq were pruned (seqs are contiguous, so this is also how many). */
  throughSeq: number;
  /** Hash of entry `throughSeq`: the `prevHash` of the first kept entry. */
  hash: string;
  /** When the last prune ran, ms since the epoch. */
  prunedAt: number;
  /** The last prune's cutoff: it removed entries older than this, ms since the epoch. */
  before: number;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  /** The first entry that does not fit the chain, and why. */
  firstBad?: {
    seq: number;
    problem:
      | 'hash_mismatch'
      | 'broken_link'
      | 'missing_entries'
      | 'head_mismatch'
      | 'anchor_mismatch'
      | 'sealed_record_mismatch';
  };
  /** Entries removed by the retention policy, when any were (not a break). */
  pruned?: { entries: number; throughSeq: number; at: string; before: string };
}

export interface AuditPruneResult {
  /** Entries removed by this prune. */
  entries: number;
  /** The anchor after it (absent when nothing was ever pruned). */
  anchor?: AuditPruneAnchor;
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

/**
 * Whether the record an entry of `action` sealed is still what was sealed: such an entry holds
 * the hash of a record kept elsewhere in the control plane (an RPM statement, say), so `verify`
 * also finds that record edited or deleted after the fact.
 */
export type SealedRecordCheck = (entry: AuditEntry) => boolean;

export class AuditLog {
  private readonly listeners = new Set<AuditListener>();
  private readonly sealChecks = new Map<string, SealedRecordCheck>();
  private readonly appendTx: (input: AuditEntryInput) => AuditEntry;
  private readonly pruneTx: (before: number, actor: string) => AuditPruneResult & { entry?: AuditEntry };

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    const last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const insert = db.prepare(
      'INSERT INTO audit_log (seq, at, actor, action, target, outcome, source, details, prev_hash, hash) VALUES (@seq, @at, @actor, @action, @target, @outcome, @source, @details, @prevHash, @hash)',
    );
    const setMeta = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    const appendNow = (input: AuditEntryInput): AuditEntry => {
      // The newest entry, or else (every entry pruned) the prune anchor, is the one to link to.
      const newestEntry = last.get() as { seq: number; hash: string } | undefined;
      const anchor = newestEntry ? undefined : this.pruneAnchor();
      const prev =
        newestEntry ??
        (typeof anchor === 'object' ? { seq: anchor.throughSeq, hash: anchor.hash } : undefined);
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
      setMeta.run(HEAD_KEY, `${entry.seq}:${entry.hash}`);
      return entry;
    };
    const tx = db.transaction(appendNow);
    this.appendTx = (input) => tx.immediate(input);

    const firstKept = db.prepare('SELECT MIN(seq) AS seq FROM audit_log WHERE at >= ?');
    const newest = db.prepare('SELECT MAX(seq) AS seq FROM audit_log');
    const hashOf = db.prepare('SELECT hash FROM audit_log WHERE seq = ?');
    const remove = db.prepare('DELETE FROM audit_log WHERE seq <= ?');
    const pruneTx = db.transaction(
      (before: number, actor: string): AuditPruneResult & { entry?: AuditEntry } => {
        const previous = this.pruneAnchor();
        if (previous === 'malformed')
          throw new VitalGateError(
            'AUDIT_CHAIN_BROKEN',
            'the audit prune anchor is unreadable; run audit verify',
          );
        const kept = (firstKept.get(before) as { seq: number | null }).seq;
        const throughSeq = kept === null ? (newest.get() as { seq: number | null }).seq : kept - 1;
        if (throughSeq === null || throughSeq <= (previous?.throughSeq ?? 0))
          return { entries: 0, ...(previous ? { anchor: previous } : {}) };
        const { hash } = hashOf.get(throughSeq) as { hash: string };
        const entries = remove.run(throughSeq).changes;
        const anchor: AuditPruneAnchor = { throughSeq, hash, prunedAt: this.now(), before };
        setMeta.run(PRUNE_ANCHOR_KEY, JSON.stringify(anchor));
        const entry = appendNow({
          actor,
          action: AUDIT_PRUNE_ACTION,
          outcome: 'success',
          details: { entries, throughSeq, anchorHash: hash, before: new Date(before).toISOString() },
        });
        return { entries, anchor, entry };
      },
    );
    this.pruneTx = (before, actor) => pruneTx.immediate(before, actor);
  }

  /** The prune anchor, when retention has pruned entries; `malformed` when meta holds junk. */
  pruneAnchor(): AuditPruneAnchor | 'malformed' | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(PRUNE_ANCHOR_KEY) as
      { value: string } | undefined;
    if (!row) return undefined;
    try {
      const v = JSON.parse(row.value) as Partial<AuditPruneAnchor>;
      return Number.isSafeInteger(v.throughSeq) &&
        typeof v.hash === 'string' &&
        typeof v.prunedAt === 'number' &&
        typeof v.before === 'number'
        ? { throughSeq: v.throughSeq!, hash: v.hash, prunedAt: v.prunedAt, before: v.before }
        : 'malformed';
    } catch {
      return 'malformed';
    }
  }

  /**
   * Removes the entries older than `before` (a contiguous run from the start: pruning stops at
   * the first entry at or after `before`), anchors the chain at the last one removed, and
   * appends an `audit.prune` entry (counts, seq and hash only) in the same transaction.
   */
  prune(before: number, actor = 'system'): AuditPruneResult {
    const { entry, ...result } = this.pruneTx(before, actor);
    if (entry) for (const listener of this.listeners) listener(entry);
    return result;
  }

  append(input: AuditEntryInput): AuditEntry {
    const entry = this.appendTx(input);
    for (const listener of this.listeners) listener(entry);
    return entry;
  }

  /** Makes `verify` check the records entries of `action` sealed (see SealedRecordCheck). */
  addSealCheck(action: string, check: SealedRecordCheck): void {
    this.sealChecks.set(action, check);
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
    add('seq < @beforeSeq', 'beforeSeq');
    params.limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(params) as AuditRow[]).map(fromRow);
  }

  /**
   * Walks the whole chain, from the prune anchor when retention pruned the oldest entries, and
   * reports the first entry that does not fit, and what was pruned by policy.
   */
  verify(): AuditVerification {
    const stored = this.pruneAnchor();
    if (stored === 'malformed')
      return { ok: false, checked: 0, firstBad: { seq: 1, problem: 'anchor_mismatch' } };
    const anchor = stored;
    const pruned = anchor && {
      entries: anchor.throughSeq,
      throughSeq: anchor.throughSeq,
      at: new Date(anchor.prunedAt).toISOString(),
      before: new Date(anchor.before).toISOString(),
    };
    const withPruned = (v: AuditVerification): AuditVerification => (pruned ? { ...v, pruned } : v);
    let prevHash = anchor?.hash ?? GENESIS_HASH;
    let expectedSeq = (anchor?.throughSeq ?? 0) + 1;
    let checked = 0;
    let vouched = false;
    for (const row of this.db
      .prepare('SELECT * FROM audit_log ORDER BY seq')
      .iterate() as Iterable<AuditRow>) {
      const entry = fromRow(row);
      if (entry.seq !== expectedSeq)
        return withPruned({ ok: false, checked, firstBad: { seq: expectedSeq, problem: 'missing_entries' } });
      if (entry.prevHash !== prevHash)
        return withPruned({ ok: false, checked, firstBad: { seq: entry.seq, problem: 'broken_link' } });
      const { hash, ...unhashed } = entry;
      if (entryHash(unhashed) !== hash)
        return withPruned({ ok: false, checked, firstBad: { seq: entry.seq, problem: 'hash_mismatch' } });
      const sealCheck = this.sealChecks.get(entry.action);
      if (sealCheck && !sealCheck(entry))
        return withPruned({
          ok: false,
          checked,
          firstBad: { seq: entry.seq, problem: 'sealed_record_mismatch' },
        });
      if (anchor && entry.action === AUDIT_PRUNE_ACTION) {
        // The latest prune record in the chain decides whether the anchor is the one it wrote.
        vouched = entry.details?.throughSeq === anchor.throughSeq && entry.details.anchorHash === anchor.hash;
      }
      prevHash = hash;
      expectedSeq += 1;
      checked += 1;
    }
    const head = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(HEAD_KEY) as
      { value: string } | undefined;
    const tail = checked === 0 ? undefined : `${expectedSeq - 1}:${prevHash}`;
    if (head?.value !== tail) {
      return withPruned({ ok: false, checked, firstBad: { seq: expectedSeq, problem: 'head_mismatch' } });
    }
    if (anchor && !vouched) {
      return withPruned({
        ok: false,
        checked,
        firstBad: { seq: anchor.throughSeq + 1, problem: 'anchor_mismatch' },
      });
    }
    return withPruned({ ok: true, checked });
  }
}
