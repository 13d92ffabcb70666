// Care-team conversations and their named members. A patient conversation (one per patient) also
// has the patient's assigned clinicians as members; that is the messaging layer's rule, not the
// store's. Ids and usernames only: nothing here is message text.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

type Statement = Database.Statement<unknown[]>;

export type ConversationKind = 'patient' | 'direct';

export interface ConversationRecord {
  id: string;
  kind: ConversationKind;
  patientId: string | null;
  createdBy: string;
  createdAt: number;
  /** A lifespan an admin set (seconds), shorter than the hub default; null: the default. */
  lifespanS: number | null;
  lastMessageAt: number | null;
  /** A direct conversation whose key was destroyed. */
  closedAt: number | null;
}

interface ConversationRow {
  id: string;
  kind: ConversationKind;
  patient_id: string | null;
  created_by: string;
  created_at: number;
  lifespan_s: number | null;
  last_message_at: number | null;
  closed_at: number | null;
}

const fromRow = (r: ConversationRow): ConversationRecord => ({
  id: r.id,
  kind: r.kind,
  patientId: r.patient_id,
  createdBy: r.created_by,
  createdAt: r.created_at,
  lifespanS: r.lifespan_s,
  lastMessageAt: r.last_message_at,
  closedAt: r.closed_at,
});

export class ConversationRepository {
  /** Statements compiled once per repository: sending a message runs several of them. */
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  add(c: Pick<ConversationRecord, 'id' | 'kind' | 'patientId' | 'createdBy' | 'createdAt'>): void {
    this.sql(
      'INSERT INTO conversations (id, kind, patient_id, created_by, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(c.id, c.kind, c.patientId, c.createdBy, c.createdAt);
  }

  get(id: string): ConversationRecord | undefined {
    const row = this.sql('SELECT * FROM conversations WHERE id = ?').get(id) as ConversationRow | undefined;
    return row && fromRow(row);
  }

  ofPatient(patientId: string): ConversationRecord | undefined {
    const row = this.sql('SELECT * FROM conversations WHERE patient_id = ?').get(patientId) as
      ConversationRow | undefined;
    return row && fromRow(row);
  }

  /** Open conversations of the given patients, and the direct ones the user is a named member of. */
  visibleTo(username: string, patientIds: readonly string[]): ConversationRecord[] {
    const direct = this.sql(
      `SELECT c.* FROM conversations c JOIN conversation_members m ON m.conversation_id = c.id
         WHERE m.username = ? AND c.kind = 'direct' AND c.closed_at IS NULL`,
    ).all(username) as ConversationRow[];
    const byPatient = this.sql('SELECT * FROM conversations WHERE patient_id = ?');
    const patient = patientIds
      .map((p) => byPatient.get(p) as ConversationRow | undefined)
      .filter((r): r is ConversationRow => r !== undefined);
    return [...patient, ...direct]
      .map(fromRow)
      .sort((a, b) => (b.lastMessageAt ?? b.createdAt) - (a.lastMessageAt ?? a.createdAt));
  }

  list(): ConversationRecord[] {
    return (this.sql('SELECT * FROM conversations ORDER BY created_at').all() as ConversationRow[]).map(
      fromRow,
    );
  }

  setLifespan(id: string, lifespanS: number | null): void {
    this.sql('UPDATE conversations SET lifespan_s = ? WHERE id = ?').run(lifespanS, id);
  }

  touch(id: string, at: number): void {
    this.sql('UPDATE conversations SET last_message_at = ? WHERE id = ?').run(at, id);
  }

  close(id: string, at: number): void {
    this.sql('UPDATE conversations SET closed_at = ? WHERE id = ? AND closed_at IS NULL').run(at, id);
  }

  addMember(conversationId: string, username: string, addedBy: string, at: number): boolean {
    return (
      this.sql(
        'INSERT OR IGNORE INTO conversation_members (conversation_id, username, added_by, added_at) VALUES (?, ?, ?, ?)',
      ).run(conversationId, username, addedBy, at).changes === 1
    );
  }

  removeMember(conversationId: string, username: string): boolean {
    return (
      this.sql('DELETE FROM conversation_members WHERE conversation_id = ? AND username = ?').run(
        conversationId,
        username,
      ).changes === 1
    );
  }

  members(conversationId: string): string[] {
    return (
      this.sql(
        'SELECT username FROM conversation_members WHERE conversation_id = ? ORDER BY added_at, username',
      ).all(conversationId) as { username: string }[]
    ).map((r) => r.username);
  }

  isMember(conversationId: string, username: string): boolean {
    return (
      this.sql('SELECT 1 FROM conversation_members WHERE conversation_id = ? AND username = ?').get(
        conversationId,
        username,
      ) !== undefined
    );
  }
}
