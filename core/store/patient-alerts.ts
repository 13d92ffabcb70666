// A patient's alerts raised in a time range, for the RPM report (how many, how fast acknowledged).
import type { Db } from './database.js';

export interface RaisedAlert {
  id: number;
  rule: string;
  severity: string;
  raisedAt: number;
  ackedAt: number | null;
}

export function alertsRaisedBetween(db: Db, patientId: string, from: number, to: number): RaisedAlert[] {
  return (
    db
      .prepare(
        'SELECT id, rule, severity, raised_at, acked_at FROM alerts WHERE patient_id = ? AND raised_at >= ? AND raised_at < ? ORDER BY raised_at',
      )
      .all(patientId, from, to) as {
      id: number;
      rule: string;
      severity: string;
      raised_at: number;
      acked_at: number | null;
    }[]
  ).map((r) => ({
    id: r.id,
    rule: r.rule,
    severity: r.severity,
    raisedAt: r.raised_at,
    ackedAt: r.acked_at,
  }));
}
