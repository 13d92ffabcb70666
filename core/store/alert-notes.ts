// The note a clinician leaves when acknowledging an alert. It is clinical free text, so it is
// kept sealed under the patient's data key (the caller seals and opens; this keeps the bytes),
// and erasing the patient makes it unreadable with the rest of their data.
import type { Db } from './database.js';

export interface AlertNote {
  alertId: number;
  patientId: string;
  author: string;
  createdAt: number;
  keyVersion: number;
  sealed: Buffer;
}

export class AlertNoteRepository {
  constructor(private readonly db: Db) {}

  add(note: AlertNote): void {
    this.db
      .prepare(
        'INSERT INTO alert_notes (alert_id, patient_id, author, created_at, key_version, sealed) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(note.alertId, note.patientId, note.author, note.createdAt, note.keyVersion, note.sealed);
  }

  get(alertId: number): AlertNote | undefined {
    const row = this.db.prepare('SELECT * FROM alert_notes WHERE alert_id = ?').get(alertId) as
      | {
          alert_id: number;
          patient_id: string;
          author: string;
          created_at: number;
          key_version: number;
          sealed: Buffer;
        }
      | undefined;
    return (
      row && {
        alertId: row.alert_id,
        patientId: row.patient_id,
        author: row.author,
        createdAt: row.created_at,
        keyVersion: row.key_version,
        sealed: row.sealed,
      }
    );
  }
}
