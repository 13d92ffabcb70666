// What ingest keeps in the control plane: dead letters, the last stored seq of each device
// (the dedupe state for confirmed records) and alerts. Per-patient alert settings are in
// alert-settings.ts.
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

  /** Dead letters per device since a time, most first. */
  countByDevice(since = 0, limit = 100): { deviceId: string; count: number }[] {
    return (
      this.db
        .prepare(
          'SELECT device_id, COUNT(*) AS n FROM dead_letters WHERE received_at >= ? GROUP BY device_id ORDER BY n DESC LIMIT ?',
        )
        .all(since, limit) as { device_id: string; n: number }[]
    ).map((r) => ({ deviceId: r.device_id, count: r.n }));
  }

  countSince(since: number): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM dead_letters WHERE received_at >= ?').get(since) as {
        n: number;
      }
    ).n;
  }
}

/**
 * The replay windows: per device and enrollment, the highest seq InfluxDB has confirmed. Keys are
 * `seqWindowKey(deviceId, enrollment)`.
 */
export class DeviceSeqRepository {
  private readonly upsert;

  constructor(private readonly db: Db) {
    this.upsert = db.prepare(
      'INSERT INTO seq_windows (device_id, enrollment, last_seq) VALUES (?, ?, ?) ON CONFLICT (device_id, enrollment) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)',
    );
  }

  all(): Map<string, number> {
    const rows = this.db.prepare('SELECT device_id, enrollment, last_seq FROM seq_windows').all() as {
      device_id: string;
      enrollment: string;
      last_seq: number;
    }[];
    return new Map(rows.map((r) => [seqWindowKey(r.device_id, r.enrollment), r.last_seq]));
  }

  record(seqs: Map<string, number>): void {
    this.db.transaction(() => {
      for (const [key, seq] of seqs) {
        const space = key.indexOf(' ');
        this.upsert.run(key.slice(0, space), key.slice(space + 1), seq);
      }
    })();
  }

  /** The enrollment of the device's current certificate ('' when it has none). */
  currentEnrollment(deviceId: string): string {
    const row = this.db
      .prepare(
        'SELECT COALESCE(c.enrollment_serial, d.current_serial) AS enrollment FROM devices d LEFT JOIN certificates c ON c.serial = d.current_serial WHERE d.id = ?',
      )
      .get(deviceId) as { enrollment: string | null } | undefined;
    return row?.enrollment ?? '';
  }
}

/** One replay window: a device id (never holds a space) and the enrollment serial. */
export function seqWindowKey(deviceId: string, enrollment: string): string {
  return `${deviceId} ${enrollment}`;
}

export class AlertRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  raise(a: { patientId: string | null; deviceId: string; rule: string; severity: string }): AlertRecord {
    const id = Number(
      this.db
        .prepare(
          "INSERT INTO alerts (patient_id, device_id, rule, severity, status, raised_at) VALUES (?, ?, ?, ?, 'open', ?)",
        )
        .run(a.patientId, a.deviceId, a.rule, a.severity, this.now()).lastInsertRowid,
    );
    return this.get(id)!;
  }

  /** The condition is over: the alert is cleared, whether or not it was acknowledged. */
  clear(id: number): AlertRecord | undefined {
    this.db
      .prepare("UPDATE alerts SET cleared_at = ?, status = 'cleared' WHERE id = ? AND cleared_at IS NULL")
      .run(this.now(), id);
    return this.get(id);
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

  /** Alerts whose condition has not cleared yet (open or acknowledged). */
  active(): AlertRecord[] {
    return (
      this.db
        .prepare("SELECT * FROM alerts WHERE status IN ('open', 'acknowledged') AND cleared_at IS NULL")
        .all() as AlertRow[]
    ).map(fromAlertRow);
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
