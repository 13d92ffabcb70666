// The sealing of backup parts: a round trip (also of an empty file), and refusals of a part that
// was changed, cut short, moved to another name or backup, or opened with another key.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  backupKeyId,
  deriveBackupKeys,
  fileSha256,
  newSalt,
  openSealedFile,
  PART_OVERHEAD,
  sealFile,
  type KeySource,
} from '../../../hub/backup/sealed-part.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-sealed-part-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const source: KeySource = { kind: 'master-key', secret: Buffer.alloc(32, 3) };
const keys = deriveBackupKeys(source, newSalt());
const ID = '00000000-0000-4000-8000-000000000001';

async function sealed(name: string, content: Buffer): Promise<string> {
  writeFileSync(join(dir, `${name}.plain`), content);
  const to = join(dir, `${name}.vgb`);
  const result = await sealFile(keys, ID, `spool/${name}`, join(dir, `${name}.plain`), to);
  expect(result.bytes).toBe(content.length);
  expect(result.sha256).toBe(await fileSha256(to));
  return to;
}

describe('sealed backup parts', () => {
  it('round-trip, empty files too, and hold no plaintext', async () => {
    const content = Buffer.from('readings '.repeat(50_000));
    const file = await sealed('a', content);
    expect(readFileSync(file).length).toBe(content.length + PART_OVERHEAD);
    expect(readFileSync(file).includes(Buffer.from('readings readings'))).toBe(false);
    await openSealedFile(keys, ID, 'spool/a', file, join(dir, 'a.out'));
    expect(readFileSync(join(dir, 'a.out')).equals(content)).toBe(true);
    const empty = await sealed('empty', Buffer.alloc(0));
    expect(await openSealedFile(keys, ID, 'spool/empty', empty)).toBe(0);
  });

  it('refuse a changed byte, a cut, another name, another backup and another key', async () => {
    const file = await sealed('b', Buffer.from('x'.repeat(10_000)));
    const refused = (promise: Promise<unknown>) =>
      expect(promise).rejects.toMatchObject({
        code: 'BACKUP_PART_INVALID',
        message: expect.stringContaining('spool/'),
      });
    await refused(openSealedFile(keys, ID, 'spool/c', file));
    await refused(openSealedFile(keys, '00000000-0000-4000-8000-000000000002', 'spool/b', file));
    await refused(openSealedFile(deriveBackupKeys(source, newSalt()), ID, 'spool/b', file));
    const bytes = readFileSync(file);
    bytes[5000] = bytes[5000]! ^ 1;
    writeFileSync(join(dir, 'changed.vgb'), bytes);
    await refused(openSealedFile(keys, ID, 'spool/b', join(dir, 'changed.vgb')));
    writeFileSync(join(dir, 'cut.vgb'), readFileSync(file));
    truncateSync(join(dir, 'cut.vgb'), 9_000);
    await refused(openSealedFile(keys, ID, 'spool/b', join(dir, 'cut.vgb')));
    truncateSync(join(dir, 'cut.vgb'), 10);
    await refused(openSealedFile(keys, ID, 'spool/b', join(dir, 'cut.vgb')));
  });

  it('name the key without revealing it', () => {
    const id = backupKeyId(source);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(id).not.toBe(backupKeyId({ kind: 'key-file', secret: Buffer.alloc(32, 4) }));
    expect(source.secret.toString('hex')).not.toContain(id);
  });
});
