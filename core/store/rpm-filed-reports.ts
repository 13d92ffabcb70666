// Clinical reports filed to the chart: the PDF, sealed under the patient's key by the caller
// (erasing the patient shreds it), with who filed it, when, the period and its SHA-256.
import type { Db } from './database.js';

export interface FiledReport {
  id: string;
  patientId: string;
  days: number;
  periodFrom: number;
  periodTo: number;
  filedBy: string;
  filedAt: number;
  sha256: string;
  keyVersion: number;
  sealedPdf: Buffer;
}

interface Row {
  id: string;
  patient_id: string;
  days: number;
  period_from: number;
  period_to: number;
  filed_by: string;
  filed_at: number;
  sha256: string;
  key_version: number;
  sealed_pdf: Buffer;
}

const fromRow = (r: Row): FiledReport => ({
  id: r.id,
  patientId: r.patient_id,
  days: r.days,
  periodFrom: r.period_from,
  periodTo: r.period_to,
  filedBy: r.filed_by,
  filedAt: r.filed_at,
  sha256: r.sha256,
  keyVersion: r.key_version,
  sealedPdf: r.sealed_pdf,
});

export class RpmFiledReportRepository {
  constructor(private readonly db: Db) {}

  add(r: FiledReport): void {
    this.db
      .prepare(
        `INSERT INTO rpm_filed_reports (id, patient_id, days, period_from, period_to, filed_by, filed_at, sha256, key_version, sealed_pdf)
         VALUES (@id, @patientId, @days, @periodFrom, @periodTo, @filedBy, @filedAt, @sha256, @keyVersion, @sealedPdf)`,
      )
      .run(r);
  }

  forPatient(patientId: string): FiledReport[] {
    return (
      this.db
        .prepare('SELECT * FROM rpm_filed_reports WHERE patient_id = ? ORDER BY filed_at')
        .all(patientId) as Row[]
    ).map(fromRow);
  }
}
