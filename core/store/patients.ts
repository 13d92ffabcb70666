// Patients: an opaque id, demographics sealed under the patient's own data key, the HMAC
// pseudonym that InfluxDB sees, and clinician assignments.
import { VitalGateError } from '../errors.js';
import type { Db } from './database.js';

export interface PatientRecord {
  id: string;
  sealedDemographics: Buffer;
  keyVersion: number;
  pseudonym: string;
  createdAt: number;
  erasedAt: number | null;
}

interface PatientRow {
  id: string;
  sealed_demographics: Buffer;
  key_version: number;
  pseudonym: string;
  created_at: number;
  erased_at: number | null;
}

function fromRow(r: PatientRow): PatientRecord {
  return {
    id: r.id,
    sealedDemographics: r.sealed_demographics,
    keyVersion: r.key_version,
    pseudonym: r.pseudonym,
    createdAt: r.created_at,
    erasedAt: r.erased_at,
  };
}

export class PatientRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  add(record: {
    id: string;
    sealedDemographics: Buffer;
    keyVersion: number;
    pseudonym: string;
  }): PatientRecord {
    this.db
      .prepare(
        'INSERT INTO patients (id, sealed_demographics, key_version, pseudonym, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(record.id, record.sealedDemographics, record.keyVersion, record.pseudonym, this.now());
    return this.get(record.id)!;
  }

  get(id: string): PatientRecord | undefined {
    const row = this.db.prepare('SELECT * FROM patients WHERE id = ?').get(id) as PatientRow | undefined;
    return row && fromRow(row);
  }

  require(id: string): PatientRecord {
    const patient = this.get(id);
    if (!patient) throw new VitalGateError('PATIENT_NOT_FOUND', 'no such patient');
    return patient;
  }

  list(): PatientRecord[] {
    return (this.db.prepare('SELECT * FROM patients ORDER BY created_at').all() as PatientRow[]).map(fromRow);
  }

  markErased(id: string): void {
    this.db.prepare('UPDATE patients SET erased_at = ? WHERE id = ?').run(this.now(), id);
  }

  assign(patientId: string, username: string): void {
    try {
      this.db
        .prepare('INSERT OR IGNORE INTO assignments (patient_id, username, created_at) VALUES (?, ?, ?)')
        .run(patientId, username, this.now());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new VitalGateError('NOT_FOUND', 'no such patient or user');
      }
      throw err;
    }
  }

  unassign(patientId: string, username: string): boolean {
    return (
      this.db
        .prepare('DELETE FROM assignments WHERE patient_id = ? AND username = ?')
        .run(patientId, username).changes === 1
    );
  }

  isAssigned(patientId: string, username: string): boolean {
    return (
      this.db
        .prepare('SELECT 1 FROM assignments WHERE patient_id = ? AND username = ?')
        .get(patientId, username) !== undefined
    );
  }

  assignedTo(username: string): string[] {
    return (
      this.db
        .prepare('SELECT patient_id FROM assignments WHERE username = ? ORDER BY patient_id')
        .all(username) as {
        patient_id: string;
      }[]
    ).map((r) => r.patient_id);
  }

  assigneesOf(patientId: string): string[] {
    return (
      this.db
        .prepare('SELECT username FROM assignments WHERE patient_id = ? ORDER BY username')
        .all(patientId) as {
        username: string;
      }[]
    ).map((r) => r.username);
  }
}
