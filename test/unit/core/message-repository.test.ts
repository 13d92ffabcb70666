// Destroying messages on a real SQLite file in WAL mode: the rows' bytes leave the file and the
// WAL, and a reader in another connection (a CLI command) does not hold the hub up: the WAL
// truncation is owed and done once the reader is gone.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../core/store/database.js';
import { MessageRepository } from '../../../core/store/messages.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-messages-'));
const file = join(dir, 'control-plane.sqlite');
const db = openDatabase(file);
const messages = new MessageRepository(db);
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const bytes = () =>
  Buffer.concat([
    readFileSync(file),
    existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0),
  ]);

function add(marker: string): number {
  const id = messages.nextId();
  messages.add({
    id,
    conversationId: 'cnv_AAAAAAAAAAAAAAAA',
    sender: 'dr.a',
    priority: 'normal',
    sentAt: 1,
    expiresAt: 2,
    keyVersion: 1,
    sealedKey: Buffer.from(`key-${marker}`),
    sealedContent: Buffer.from(`content-${marker}`.repeat(50)),
  });
  return id;
}

describe('MessageRepository.destroy', () => {
  it('leaves no byte of a destroyed message in the file or the WAL', () => {
    const id = add('alpha-123');
    expect(bytes().includes(Buffer.from('content-alpha-123'))).toBe(true);
    expect(messages.destroy([id])).toBe(1);
    expect(bytes().includes(Buffer.from('content-alpha-123'))).toBe(false);
    expect(bytes().includes(Buffer.from('key-alpha-123'))).toBe(false);
    expect(messages.nextId()).toBe(id + 1);
  });

  it('owes the WAL truncation while a reader in another connection holds it, and does it once the reader is gone', () => {
    const id = add('beta-456');
    const reader = new Database(file, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM messages').get();
    messages.destroy([id]);
    // Tried without waiting (busy timeout 0 for the checkpoint), and owed.
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(messages.truncateWal()).toBe(false);
    reader.exec('COMMIT');
    reader.close();
    expect(messages.truncateWal()).toBe(true);
    expect(bytes().includes(Buffer.from('content-beta-456'))).toBe(false);
  });
});
