// Sealed messages and their receipts. A message row holds its own key sealed under the
// conversation's subject key and its content sealed under that key: no text in clear. Destroying
// messages (lifespan over, recall) deletes the rows with SQLite's secure_delete on, so the freed
// bytes are overwritten with zeros, then checkpoints the WAL into the file and truncates it: the
// ciphertext and its key are gone from the database file and the WAL, not just unlinked.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

type Statement = Database.Statement<unknown[]>;

export type MessagePriority = 'normal' | 'urgent';

export interface MessageRecord {
  id: number;
  conversationId: string;
  sender: string;
  priority: MessagePriority;
  sentAt: number;
  expiresAt: number;
  keyVersion: number;
  sealedKey: Buffer;
  sealedContent: Buffer;
  escalatedAt: number | null;
}

interface MessageRow {
  id: number;
  conversation_id: string;
  sender: string;
  priority: MessagePriority;
  sent_at: number;
  expires_at: number;
  key_version: number;
  sealed_key: Buffer;
  sealed_content: Buffer;
  escalated_at: number | null;
}

const fromRow = (r: MessageRow): MessageRecord => ({
  id: r.id,
  conversationId: r.conversation_id,
  sender: r.sender,
  priority: r.priority,
  sentAt: r.sent_at,
  expiresAt: r.expires_at,
  keyVersion: r.key_version,
  sealedKey: r.sealed_key,
  sealedContent: r.sealed_content,
  escalatedAt: r.escalated_at,
});

export interface Receipt {
  username: string;
  deliveredAt: number | null;
  readAt: number | null;
}

/** Databases whose WAL still holds frames of destroyed messages (a checkpoint was busy). */
const walOwed = new WeakSet<Db>();

export class MessageRepository {
  /** Statements compiled once per repository: sending a message runs several of them. */
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  add(m: Omit<MessageRecord, 'id' | 'escalatedAt'> & { id: number }): void {
    this.sql(
      `INSERT INTO messages (id, conversation_id, sender, priority, sent_at, expires_at, key_version, sealed_key, sealed_content)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      m.id,
      m.conversationId,
      m.sender,
      m.priority,
      m.sentAt,
      m.expiresAt,
      m.keyVersion,
      m.sealedKey,
      m.sealedContent,
    );
  }

  /**
   * The id the next message gets (ids are never reused): its content's associated data names it
   * before the insert, in the same transaction.
   */
  nextId(): number {
    const row = this.sql('SELECT MAX(id) AS id FROM messages').get() as { id: number | null };
    const seq = this.sql("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").get() as
      { seq: number } | undefined;
    return Math.max(row.id ?? 0, seq?.seq ?? 0) + 1;
  }

  get(id: number): MessageRecord | undefined {
    const row = this.sql('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
    return row && fromRow(row);
  }

  /** Messages of a conversation after `afterId`, oldest first. */
  list(conversationId: string, afterId = 0, limit = 200): MessageRecord[] {
    return (
      this.sql('SELECT * FROM messages WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?').all(
        conversationId,
        afterId,
        limit,
      ) as MessageRow[]
    ).map(fromRow);
  }

  count(conversationId: string): number {
    return (
      this.sql('SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?').get(conversationId) as {
        n: number;
      }
    ).n;
  }

  /** Messages of the conversation not sent by `username` and without its read receipt. */
  unreadCount(conversationId: string, username: string): number {
    return (
      this.sql(
        `SELECT COUNT(*) AS n FROM messages m
           LEFT JOIN message_receipts r ON r.message_id = m.id AND r.username = ?
           WHERE m.conversation_id = ? AND m.sender != ? AND r.read_at IS NULL`,
      ).get(username, conversationId, username) as { n: number }
    ).n;
  }

  /** Shortens the life of a conversation's messages to `sent_at + lifespanMs` where that is sooner. */
  capExpiry(conversationId: string, lifespanMs: number): void {
    this.sql('UPDATE messages SET expires_at = MIN(expires_at, sent_at + ?) WHERE conversation_id = ?').run(
      lifespanMs,
      conversationId,
    );
  }

  expired(at: number, limit = 1000): MessageRecord[] {
    return (
      this.sql('SELECT * FROM messages WHERE expires_at <= ? ORDER BY expires_at LIMIT ?').all(
        at,
        limit,
      ) as MessageRow[]
    ).map(fromRow);
  }

  oldestSentAt(): number | undefined {
    const row = this.sql('SELECT MIN(sent_at) AS t FROM messages').get() as { t: number | null };
    return row.t ?? undefined;
  }

  /** Messages whose lifespan is over but which are still stored (the retention check). */
  overdueCount(at: number): number {
    return (this.sql('SELECT COUNT(*) AS n FROM messages WHERE expires_at <= ?').get(at) as { n: number }).n;
  }

  /** Every stored message's sealed parts, for the plaintext check. */
  *sealedParts(): Generator<{ id: number; sealedKey: Buffer; sealedContent: Buffer }> {
    for (const r of this.db
      .prepare('SELECT id, sealed_key, sealed_content FROM messages')
      .iterate() as Iterable<{
      id: number;
      sealed_key: Buffer;
      sealed_content: Buffer;
    }>) {
      yield { id: r.id, sealedKey: r.sealed_key, sealedContent: r.sealed_content };
    }
  }

  /**
   * Deletes the messages and their receipts with the freed bytes zeroed, then moves the WAL into
   * the file and truncates it. Returns how many were deleted.
   */
  destroy(ids: readonly number[]): number {
    if (ids.length === 0) return 0;
    const previous = this.db.pragma('secure_delete', { simple: true }) as number;
    this.db.pragma('secure_delete = ON');
    let deleted = 0;
    try {
      const message = this.sql('DELETE FROM messages WHERE id = ?');
      const receipts = this.sql('DELETE FROM message_receipts WHERE message_id = ?');
      this.db.transaction(() => {
        for (const id of ids) {
          deleted += message.run(id).changes;
          receipts.run(id);
        }
      })();
    } finally {
      this.db.pragma(`secure_delete = ${previous ? 'ON' : 'OFF'}`);
    }
    walOwed.add(this.db);
    this.truncateWal();
    return deleted;
  }

  /**
   * Moves the WAL into the database file and truncates it, without waiting: a reader in another
   * process (a CLI command) would otherwise hold the hub for the busy timeout. When it cannot
   * finish now, it is owed, and the retention sweep tries again on its next tick. True when no
   * truncation is owed any more.
   */
  truncateWal(): boolean {
    if (!walOwed.has(this.db)) return true;
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (result && result.busy === 0) walOwed.delete(this.db);
    } catch {
      // SQLITE_BUSY: owed, tried again later.
    } finally {
      this.db.pragma(`busy_timeout = ${timeout}`);
    }
    return !walOwed.has(this.db);
  }

  /** Records delivery to `username`; returns the ids delivered now (not before). */
  markDelivered(messageIds: readonly number[], username: string, at: number): number[] {
    const stmt = this.sql(
      `INSERT INTO message_receipts (message_id, username, delivered_at) VALUES (?, ?, ?)
       ON CONFLICT (message_id, username) DO UPDATE SET delivered_at = excluded.delivered_at
       WHERE delivered_at IS NULL`,
    );
    return this.db.transaction(() => messageIds.filter((id) => stmt.run(id, username, at).changes === 1))();
  }

  /** Marks every message of the conversation up to `uptoId` read by `username`; returns the ids newly read. */
  markRead(conversationId: string, username: string, uptoId: number, at: number): number[] {
    const ids = (
      this.sql(
        `SELECT m.id FROM messages m LEFT JOIN message_receipts r ON r.message_id = m.id AND r.username = ?
           WHERE m.conversation_id = ? AND m.id <= ? AND m.sender != ? AND r.read_at IS NULL`,
      ).all(username, conversationId, uptoId, username) as { id: number }[]
    ).map((r) => r.id);
    const stmt = this.sql(
      `INSERT INTO message_receipts (message_id, username, delivered_at, read_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (message_id, username) DO UPDATE SET read_at = excluded.read_at,
         delivered_at = COALESCE(delivered_at, excluded.delivered_at)`,
    );
    this.db.transaction(() => {
      for (const id of ids) stmt.run(id, username, at, at);
    })();
    return ids;
  }

  receipts(messageId: number): Receipt[] {
    return (
      this.sql(
        'SELECT username, delivered_at, read_at FROM message_receipts WHERE message_id = ? ORDER BY username',
      ).all(messageId) as { username: string; delivered_at: number | null; read_at: number | null }[]
    ).map((r) => ({ username: r.username, deliveredAt: r.delivered_at, readAt: r.read_at }));
  }

  /** Urgent messages sent at or before `before`, not escalated yet, that nobody but the sender has read. */
  urgentUnread(before: number): MessageRecord[] {
    return (
      this.sql(
        `SELECT m.* FROM messages m WHERE m.priority = 'urgent' AND m.escalated_at IS NULL AND m.sent_at <= ?
           AND NOT EXISTS (SELECT 1 FROM message_receipts r WHERE r.message_id = m.id
                           AND r.read_at IS NOT NULL AND r.username != m.sender)
           ORDER BY m.sent_at`,
      ).all(before) as MessageRow[]
    ).map(fromRow);
  }

  /** Marks a message escalated; false when another tick did it first. */
  markEscalated(id: number, at: number): boolean {
    return (
      this.sql('UPDATE messages SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL').run(at, id)
        .changes === 1
    );
  }
}
