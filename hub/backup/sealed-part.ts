// How a whole-hub backup protects its parts. The backup key comes from HKDF-SHA256 over the master
// key (or over a separate backup key file), with a salt of its own per backup; the master key
// itself is never written. Each part is one file: magic, a random 96-bit IV, the AES-256-GCM
// ciphertext and its tag, with the backup id and the part's name as associated data, so a part
// cannot be swapped between backups or places. Files are streamed, never read whole.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VitalGateError } from '../../core/errors.js';

const MAGIC = Buffer.from('VGBKPRT1', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
export const PART_OVERHEAD = MAGIC.length + IV_BYTES + TAG_BYTES;

export interface BackupKeys {
  /** AES-256-GCM key of the parts. */
  seal: Buffer;
  /** HMAC-SHA256 key of the manifest. */
  mac: Buffer;
}

export interface KeySource {
  kind: 'master-key' | 'key-file';
  secret: Buffer;
}

/** The backup key file: base64 of 32 bytes, like the master key file. */
export function readBackupKeyFile(file: string): KeySource {
  if (!existsSync(file))
    throw new VitalGateError('BACKUP_KEY_MISSING', `backup key file ${file} does not exist`);
  if ((statSync(file).mode & 0o077) !== 0)
    throw new VitalGateError(
      'BACKUP_KEY_EXPOSED',
      `backup key file ${file} is readable by other users: chmod 600 it`,
    );
  const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (secret.length !== KEY_BYTES)
    throw new VitalGateError('BACKUP_KEY_INVALID', `backup key file ${file} must hold base64 of 32 bytes`);
  return { kind: 'key-file', secret };
}

export function deriveBackupKeys(source: KeySource, salt: Buffer): BackupKeys {
  const okm = Buffer.from(hkdfSync('sha256', source.secret, salt, 'vitalgate:backup:v1', 2 * KEY_BYTES));
  return { seal: okm.subarray(0, KEY_BYTES), mac: okm.subarray(KEY_BYTES) };
}

/** Names the key a backup was made with (not the key): tells "wrong key" from "tampered". */
export function backupKeyId(source: KeySource): string {
  return Buffer.from(
    hkdfSync('sha256', source.secret, Buffer.alloc(0), 'vitalgate:backup-key-id:v1', 8),
  ).toString('hex');
}

export function newSalt(): Buffer {
  return randomBytes(16);
}

export function manifestMac(keys: BackupKeys, canonical: string): string {
  return createHmac('sha256', keys.mac).update(canonical).digest('hex');
}

export function macMatches(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(actual, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

function associatedData(backupId: string, part: string): Buffer {
  return Buffer.from(`vitalgate-backup\0${backupId}\0${part}`, 'utf8');
}

export interface SealedFile {
  /** Plaintext bytes. */
  bytes: number;
  /** SHA-256 of the sealed file as stored. */
  sha256: string;
}

/** Encrypts `from` into `to` (created, mode 0600); returns sizes and the hash of what was written. */
export async function sealFile(
  keys: BackupKeys,
  backupId: string,
  part: string,
  from: string,
  to: string,
): Promise<SealedFile> {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.seal, iv);
  cipher.setAAD(associatedData(backupId, part));
  const hash = createHash('sha256');
  const out = createWriteStream(to, { mode: 0o600, flags: 'wx' });
  const head = Buffer.concat([MAGIC, iv]);
  hash.update(head);
  out.write(head);
  let bytes = 0;
  await pipeline(
    createReadStream(from),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        bytes += chunk.length;
        const sealed = cipher.update(chunk);
        hash.update(sealed);
        yield sealed;
      }
      const last = Buffer.concat([cipher.final(), cipher.getAuthTag()]);
      hash.update(last);
      yield last;
    },
    out,
  );
  return { bytes, sha256: hash.digest('hex') };
}

/** SHA-256 of a file, streamed. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Decrypts a sealed part into `to` (or only authenticates it when `to` is undefined). Throws
 * BACKUP_PART_INVALID when the tag does not verify: the part was changed, cut, or is not this
 * backup's. What was written to `to` before that must then be thrown away by the caller.
 */
export async function openSealedFile(
  keys: BackupKeys,
  backupId: string,
  part: string,
  from: string,
  to?: string,
): Promise<number> {
  const fd = openSync(from, 'r');
  let size: number;
  const head = Buffer.alloc(MAGIC.length + IV_BYTES);
  const tag = Buffer.alloc(TAG_BYTES);
  try {
    size = fstatSync(fd).size;
    if (size < PART_OVERHEAD || readSync(fd, head, 0, head.length, 0) !== head.length)
      throw partInvalid(part, 'it is shorter than a sealed part');
    if (!head.subarray(0, MAGIC.length).equals(MAGIC))
      throw partInvalid(part, 'it is not a sealed backup part');
    readSync(fd, tag, 0, TAG_BYTES, size - TAG_BYTES);
  } finally {
    closeSync(fd);
  }
  const decipher = createDecipheriv('aes-256-gcm', keys.seal, head.subarray(MAGIC.length));
  decipher.setAAD(associatedData(backupId, part));
  decipher.setAuthTag(tag);
  const sink = to ? createWriteStream(to, { mode: 0o600, flags: 'wx' }) : discard();
  let bytes = 0;
  try {
    await pipeline(
      size > PART_OVERHEAD
        ? createReadStream(from, { start: head.length, end: size - TAG_BYTES - 1 })
        : Readable.from([]),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          const plain = decipher.update(chunk);
          bytes += plain.length;
          yield plain;
        }
        yield decipher.final();
      },
      sink,
    );
  } catch (err) {
    if (err instanceof VitalGateError) throw err;
    throw partInvalid(part, 'its authentication tag does not verify (changed, cut short, or another key)');
  }
  return bytes;
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}

export function partInvalid(part: string, why: string): VitalGateError {
  return new VitalGateError('BACKUP_PART_INVALID', `backup part ${part}: ${why}`, { part });
}
