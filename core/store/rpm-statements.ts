// Closed RPM months: one statement per patient, kept as canonical JSON with its SHA-256. Each
// statement is sealed by an `rpm.statement.close` audit entry holding that hash, appended in the
// same transaction, and `AuditLog.verify` re-hashes the stored statement for each such entry
// (`sealCheck`), so a statement edited or deleted in the SQLite file afterwards breaks the chain
// at the entry that sealed it.
import { createHash } from 'node:crypto';
import { canonicalJson, type AuditEntry, type AuditLog } from '../audit.js';
import type { Db } from './database.js';

export const RPM_STATEMENT_SEAL_ACTION = 'rpm.statement.close';

export interface StoredStatement {
  patientId: string;
  month: string;
  /** Canonical JSON of the statement. */
  content: string;
  hash: string;
  closedAt: number;
  closedBy: string;
}

export interface MonthClose {
  month: string;
  closedAt: number;
  closedBy: string;
  statements: number;
}

export function statementHash(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

interface Row {
  patient_id: string;
  month: string;
  content: string;
  hash: string;
  closed_at: number;
  closed_by: string;
}

const fromRow = (r: Row): StoredStatement => ({
  patientId: r.patient_id,
  month: r.month,
  content: r.content,
  hash: r.hash,
  closedAt: r.closed_at,
  closedBy: r.closed_by,
});

export class RpmStatementRepository {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  /**
   * Stores a month's statements and seals each into the audit chain, all in one transaction:
   * either the whole month is closed, or nothing is. Throws if the month is already closed.
   */
  closeMonth(
    month: string,
    statements: { patientId: string; statement: unknown }[],
    actor: string,
    at: number,
  ): MonthClose {
    const insert = this.db.prepare(
      'INSERT INTO rpm_statements (patient_id, month, content, hash, closed_at, closed_by) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const tx = this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO rpm_month_closes (month, closed_at, closed_by, statements) VALUES (?, ?, ?, ?)')
        .run(month, at, actor, statements.length);
      for (const { patientId, statement } of statements) {
        const content = canonicalJson(statement);
        const hash = statementHash(content);
        insert.run(patientId, month, content, hash, at, actor);
        this.audit.append({
          actor,
          action: RPM_STATEMENT_SEAL_ACTION,
          target: `patient:${patientId}`,
          outcome: 'success',
          details: { month, sha256: hash },
        });
      }
    });
    tx.immediate();
    return { month, closedAt: at, closedBy: actor, statements: statements.length };
  }

  monthClose(month: string): MonthClose | undefined {
    const row = this.db.prepare('SELECT * FROM rpm_month_closes WHERE month = ?').get(month) as
      { month: string; closed_at: number; closed_by: string; statements: number } | undefined;
    return (
      row && {
        month: row.month,
        closedAt: row.closed_at,
        closedBy: row.closed_by,
        statements: row.statements,
      }
    );
  }

  closedMonths(): string[] {
    return (
      this.db.prepare('SELECT month FROM rpm_month_closes ORDER BY month').all() as { month: string }[]
    ).map((r) => r.month);
  }

  get(patientId: string, month: string): StoredStatement | undefined {
    const row = this.db
      .prepare('SELECT * FROM rpm_statements WHERE patient_id = ? AND month = ?')
      .get(patientId, month) as Row | undefined;
    return row && fromRow(row);
  }

  forMonth(month: string): StoredStatement[] {
    return (
      this.db.prepare('SELECT * FROM rpm_statements WHERE month = ? ORDER BY patient_id').all(month) as Row[]
    ).map(fromRow);
  }

  forPatient(patientId: string): StoredStatement[] {
    return (
      this.db
        .prepare('SELECT * FROM rpm_statements WHERE patient_id = ? ORDER BY month')
        .all(patientId) as Row[]
    ).map(fromRow);
  }

  /** For `AuditLog.addSealCheck`: the statement an entry sealed is there and hashes the same. */
  sealCheck(): (entry: AuditEntry) => boolean {
    const content = this.db.prepare('SELECT content FROM rpm_statements WHERE patient_id = ? AND month = ?');
    return (entry) => {
      const patientId = entry.target?.startsWith('patient:')
        ? entry.target.slice('patient:'.length)
        : undefined;
      const month = entry.details?.month;
      const sealed = entry.details?.sha256;
      if (patientId === undefined || typeof month !== 'string' || typeof sealed !== 'string') return false;
      const row = content.get(patientId, month) as { content: string } | undefined;
      return row !== undefined && statementHash(row.content) === sealed;
    };
  }
}
