// Break-glass grants: a clinician's stated reason buys time-limited access to one patient who is
// not assigned to them. Grants are never deleted; they expire or are ended.
import type { Db } from './database.js';

export interface BreakGlassGrant {
  id: number;
  username: string;
  patientId: string;
  reason: string;
  source: string | null;
  grantedAt: number;
  expiresAt: number;
  endedAt: number | null;
}

interface GrantRow {
  id: number;
  username: string;
  patient_id: string;
  reason: string;
  source: string | null;
  granted_at: number;
  expires_at: number;
  ended_at: number | null;
}

function fromRow(r: GrantRow): BreakGlassGrant {
  return {
    id: r.id,
    username: r.username,
    patientId: r.patient_id,
    reason: r.reason,
    source: r.source,
    grantedAt: r.granted_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
  };
}

export class BreakGlassGrantRepository {
  private readonly activeStatement;

  constructor(private readonly db: Db) {
    this.activeStatement = db.prepare(
      'SELECT * FROM break_glass_grants WHERE username = ? AND patient_id = ? AND expires_at > ? AND ended_at IS NULL ORDER BY expires_at DESC LIMIT 1',
    );
  }

  add(grant: Omit<BreakGlassGrant, 'id' | 'endedAt'>): BreakGlassGrant {
    const id = Number(
      this.db
        .prepare(
          'INSERT INTO break_glass_grants (username, patient_id, reason, source, granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(grant.username, grant.patientId, grant.reason, grant.source, grant.grantedAt, grant.expiresAt)
        .lastInsertRowid,
    );
    return { ...grant, id, endedAt: null };
  }

  active(username: string, patientId: string, at: number): BreakGlassGrant | undefined {
    const row = this.activeStatement.get(username, patientId, at) as GrantRow | undefined;
    return row && fromRow(row);
  }

  get(id: number): BreakGlassGrant | undefined {
    const row = this.db.prepare('SELECT * FROM break_glass_grants WHERE id = ?').get(id) as
      GrantRow | undefined;
    return row && fromRow(row);
  }

  /** Patients a user holds a live grant for. */
  activePatients(username: string, at: number): string[] {
    return (
      this.db
        .prepare(
          'SELECT DISTINCT patient_id FROM break_glass_grants WHERE username = ? AND expires_at > ? AND ended_at IS NULL ORDER BY patient_id',
        )
        .all(username, at) as { patient_id: string }[]
    ).map((r) => r.patient_id);
  }

  list(filter: { username?: string; patientId?: string; limit?: number } = {}): BreakGlassGrant[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.username) {
      where.push('username = ?');
      params.push(filter.username);
    }
    if (filter.patientId) {
      where.push('patient_id = ?');
      params.push(filter.patientId);
    }
    params.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    return (
      this.db
        .prepare(
          `SELECT * FROM break_glass_grants ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        )
        .all(...params) as GrantRow[]
    ).map(fromRow);
  }

  /** Ends a user's live grants (logout does not; disabling the account does). */
  endAllOf(username: string, at: number): number {
    return this.db
      .prepare(
        'UPDATE break_glass_grants SET ended_at = ? WHERE username = ? AND ended_at IS NULL AND expires_at > ?',
      )
      .run(at, username, at).changes;
  }
}
