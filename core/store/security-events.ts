// Security events: refusals, ACL violations, conflicting client ids, shared certificates,
// quarantines, break-glass, anomalies. Ids, codes and addresses only — no PHI.
import type { Db } from './database.js';

export type SecuritySeverity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface SecurityEvent {
  id: number;
  at: number;
  kind: string;
  severity: SecuritySeverity;
  deviceId: string | null;
  username: string | null;
  source: string | null;
  details: Record<string, unknown> | null;
}

export type NewSecurityEvent = Omit<
  SecurityEvent,
  'id' | 'at' | 'deviceId' | 'username' | 'source' | 'details'
> &
  Partial<Pick<SecurityEvent, 'deviceId' | 'username' | 'source' | 'details'>>;

export class SecurityEventRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  add(event: NewSecurityEvent): SecurityEvent {
    const at = this.now();
    const result = this.db
      .prepare(
        'INSERT INTO security_events (at, kind, severity, device_id, username, source, details) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        at,
        event.kind,
        event.severity,
        event.deviceId ?? null,
        event.username ?? null,
        event.source ?? null,
        event.details ? JSON.stringify(event.details) : null,
      );
    return {
      id: Number(result.lastInsertRowid),
      at,
      kind: event.kind,
      severity: event.severity,
      deviceId: event.deviceId ?? null,
      username: event.username ?? null,
      source: event.source ?? null,
      details: event.details ?? null,
    };
  }

  list(filter: { kind?: string; deviceId?: string; since?: number; limit?: number } = {}): SecurityEvent[] {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      where.push(sql);
      params.push(value);
    };
    if (filter.kind) add('kind = ?', filter.kind);
    if (filter.deviceId) add('device_id = ?', filter.deviceId);
    if (filter.since !== undefined) add('at >= ?', filter.since);
    params.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    const rows = this.db
      .prepare(
        `SELECT * FROM security_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      )
      .all(...params) as {
      id: number;
      at: number;
      kind: string;
      severity: SecuritySeverity;
      device_id: string | null;
      username: string | null;
      source: string | null;
      details: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      kind: r.kind,
      severity: r.severity,
      deviceId: r.device_id,
      username: r.username,
      source: r.source,
      details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null,
    }));
  }
}
