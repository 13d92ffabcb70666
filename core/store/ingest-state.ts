// What ingest keeps in the control plane: dead letters, the last stored seq of each device
// (the dedupe state for confirmed records), alerts and per-patient alert thresholds.
import type { Db } from './database.js';

export interface DeadLetterRecord {
  id: number;
  deviceId: string;
  reason: string;
  detail: string;
  receivedAt: number;
  keySubject: string;
  keyVersion: number;
  sealedPayload: Buffer;
}

export type AlertStatus = 'open' | 'acknowledged' | 'cleared';

export interface AlertRecord {
  id: number;
  patientId: string | null;
  deviceId: string;
  rule: string;
  severity: string;
  status: AlertStatus;
  raisedAt: number;
  clearedAt: number | null;
  ackedBy: string | null;
  ackedAt: number | null;
}

export class DeadLetterRepository {
  constructor(private readonly db: Db) {}

  add(d: Omit<DeadLetterRecord, 'id'>): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO dead_letters (device_id, reason, detail, received_at, key_subject, key_version, sealed_payload) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(d.deviceId, d.reason, d.detail, d.receivedAt, d.keySubject, d.keyVersion, d.sealedPayload)
        .lastInsertRowid,
    );
  }

  list(filter: { deviceId?: string; limit?: number } = {}): DeadLetterRecord[] {
    const rows = (
      filter.deviceId
        ? this.db
            .prepare('SELECT * FROM dead_letters WHERE device_id = ? ORDER BY id DESC LIMIT ?')
            .all(filter.deviceId, filter.limit ?? 100)
        : this.db.prepare('SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?').all(filter.limit ?? 100)
    ) as {
      id: number;
      device_id: string;
      reason: string;
      detail: string;
      received_at: number;
      key_subject: string;
      key_version: number;
      sealed_payload: Buffer;
    }[];
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.device_id,
      reason: r.reason,
      detail: r.detail,
      receivedAt: r.received_at,
      keySubject: r.key_subject,
      keyVersion: r.key_version,
      sealedPayload: r.sealed_payload,
    }));
  }

  countSince(since: number): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM dead_letters WHERE received_at >= ?').get(since) as {
        n: number;
      }
    ).n;
  }
}

export class DeviceSeqRepository {
  private readonly upsert;

  constructor(private readonly db: Db) {
    this.upsert = db.prepare(
      'INSERT INTO device_seq (device_id, last_seq) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)',
    );
  }

  all(): Map<string, number> {
    const rows = this.db.prepare('SELECT device_id, last_seq FROM device_seq').all() as {
      device_id: string;
      last_seq: number;
    }[];
    return new Map(rows.map((r) => [r.device_id, r.last_seq]));
  }

  record(seqs: Map<string, number>): void {
    this.db.transaction(() => {
      for (const [deviceId, seq] of seqs) this.upsert.run(deviceId, seq);
    })();
  }
}

export class AlertRepository {
  private readonly overrideStatement;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.overrideStatement = db.prepare(
      'SELECT threshold FROM alert_rule_overrides WHERE patient_id = ? AND rule = ?',
    );
  }

  raise(a: { patientId: string | null; deviceId: string; rule: string; severity: string }): AlertRecord {
    const at = this.now();
    const id = Number(
      this.db
        .prepare(
          "INSERT INTO alerts (patient_id, device_id, rule, severity, status, raised_at) VALUES (?, ?, ?, ?, 'open', ?)",
        )
        .run(a.patientId, a.deviceId, a.rule, a.severity, at).lastInsertRowid,
    );
    return this.get(id)!;
  }

  clear(id: number): void {
    this.db
      .prepare(
        "UPDATE alerts SET cleared_at = ?, status = CASE status WHEN 'open' THEN 'cleared' ELSE status END WHERE id = ?",
      )
      .run(this.now(), id);
  }

  acknowledge(id: number, username: string): boolean {
    return (
      this.db
        .prepare(
          "UPDATE alerts SET status = 'acknowledged', acked_by = ?, acked_at = ? WHERE id = ? AND status = 'open'",
        )
        .run(username, this.now(), id).changes === 1
    );
  }

  get(id: number): AlertRecord | undefined {
    const row = this.db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined;
    return row && fromAlertRow(row);
  }

  list(filter: { patientId?: string; status?: AlertStatus; limit?: number } = {}): AlertRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.patientId) {
      where.push('patient_id = ?');
      params.push(filter.patientId);
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    params.push(Math.min(filter.limit ?? 100, 1000));
    return (
      this.db
        .prepare(
          `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        )
        .all(...params) as AlertRow[]
    ).map(fromAlertRow);
  }

  thresholdOverride(patientId: string, rule: string): number | undefined {
    const row = this.overrideStatement.get(patientId, rule) as { threshold: number } | undefined;
    return row?.threshold;
  }

  setThresholdOverride(patientId: string, rule: string, threshold: number): void {
    this.db
      .prepare(
        'INSERT INTO alert_rule_overrides (patient_id, rule, threshold) VALUES (?, ?, ?) ON CONFLICT (patient_id, rule) DO UPDATE SET threshold = excluded.threshold',
      )
      .run(patientId, rule, threshold);
  }
}

interface AlertRow {
  id: number;
  patient_id: string | null;
  device_id: string;
  rule: string;
  severity: string;
  status: AlertStatus;
  raised_at: number;
  cleared_at: number | null;
  acked_by: string | null;
  acked_at: number | null;
}

function fromAlertRow(r: AlertRow): AlertRecord {
  return {
    id: r.id,
    patientId: r.patient_id,
    deviceId: r.device_id,
    rule: r.rule,
    severity: r.severity,
    status: r.status,
    raisedAt: r.raised_at,
    clearedAt: r.cleared_at,
    ackedBy: r.acked_by,
    ackedAt: r.acked_at,
  };
}
