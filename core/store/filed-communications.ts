// What clinicians filed from a conversation to the patient's record: sealed under the patient's
// key (erasing the patient shreds it), kept with the record rather than with the messages.
import type { Db } from './database.js';

export interface FiledCommunicationRecord {
  id: string;
  patientId: string;
  conversationId: string;
  filedBy: string;
  filedAt: number;
  keyVersion: number;
  sealedContent: Buffer;
}

interface Row {
  id: string;
  patient_id: string;
  conversation_id: string;
  filed_by: string;
  filed_at: number;
  key_version: number;
  sealed_content: Buffer;
}

const fromRow = (r: Row): FiledCommunicationRecord => ({
  id: r.id,
  patientId: r.patient_id,
  conversationId: r.conversation_id,
  filedBy: r.filed_by,
  filedAt: r.filed_at,
  keyVersion: r.key_version,
  sealedContent: r.sealed_content,
});

export class FiledCommunicationRepository {
  constructor(private readonly db: Db) {}

  add(f: FiledCommunicationRecord): void {
    this.db
      .prepare(
        `INSERT INTO filed_communications (id, patient_id, conversation_id, filed_by, filed_at, key_version, sealed_content)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(f.id, f.patientId, f.conversationId, f.filedBy, f.filedAt, f.keyVersion, f.sealedContent);
  }

  get(id: string): FiledCommunicationRecord | undefined {
    const row = this.db.prepare('SELECT * FROM filed_communications WHERE id = ?').get(id) as Row | undefined;
    return row && fromRow(row);
  }

  ofPatient(patientId: string): FiledCommunicationRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM filed_communications WHERE patient_id = ? ORDER BY filed_at, rowid')
        .all(patientId) as Row[]
    ).map(fromRow);
  }
}
