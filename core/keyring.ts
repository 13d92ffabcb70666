// The keyring: the master key, per-subject AES-256-GCM data keys wrapped by it, secrets sealed
// under it (CA keys, TOTP secrets), and HMAC pseudonyms. The pseudonym key is derived from the
// master key until the first master key rotation; from then on it is kept sealed under the
// master key in `meta`, so pseudonyms (InfluxDB tags) outlive the master key they began under.
//
// Envelope layout of every ciphertext: iv (12 bytes) | tag (16 bytes) | ciphertext. Associated
// data binds each ciphertext to what it belongs to (a patient's series, a CA key's name), so a
// ciphertext moved to another place fails to open. Destroying a subject's data keys makes its
// ciphertexts unreadable for good (crypto-shredding).
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  randomFillSync,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VitalGateError } from './errors.js';
import type { Db } from './store/database.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export const MASTER_KEY_FILE = 'master.key';

export interface MasterKeySource {
  key: Buffer;
  /** 'env' when it came from VITALGATE_MASTER_KEY, else the key file's path. */
  origin: 'env' | string;
}

export function masterKeyPath(dataDir: string): string {
  return join(dataDir, MASTER_KEY_FILE);
}

/**
 * The master key from the configured base64 value, else from `<dataDir>/master.key`. With
 * `create`, a missing key file is generated (mode 0600). A key file readable by group or others
 * is refused, as ssh refuses such a private key.
 */
export function loadMasterKey(opts: { dataDir: string; base64?: string; create?: boolean }): MasterKeySource {
  if (opts.base64) return { key: Buffer.from(opts.base64, 'base64'), origin: 'env' };
  const file = masterKeyPath(opts.dataDir);
  if (!existsSync(file)) {
    if (!opts.create) {
      throw new VitalGateError(
        'MASTER_KEY_MISSING',
        `no master key: set VITALGATE_MASTER_KEY or run "vitalgate init" to create ${file}`,
      );
    }
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  return { key: readMasterKeyFile(file), origin: file };
}

/** A master key file: base64 of 32 bytes, readable by its owner only (as ssh wants a private key). */
export function readMasterKeyFile(file: string): Buffer {
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new VitalGateError(
      'MASTER_KEY_EXPOSED',
      `master key file ${file} is readable by other users: run "chmod 600 ${file}"`,
    );
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new VitalGateError('MASTER_KEY_INVALID', `master key file ${file} must hold base64 of 32 bytes`);
  }
  return key;
}

function deriveKey(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `vitalgate:${purpose}:v1`, KEY_BYTES));
}

/** The keys a master key seals with: `wrap` for data keys, `secret` for the hub's own secrets. */
export function masterSealingKeys(master: Buffer): { wrap: Buffer; secret: Buffer } {
  if (master.length !== KEY_BYTES)
    throw new VitalGateError('MASTER_KEY_INVALID', 'master key must be 32 bytes');
  return { wrap: deriveKey(master, 'wrap'), secret: deriveKey(master, 'secret') };
}

/**
 * What the control plane records to recognise its master key (`meta.master_key_check`): an HMAC
 * under a key derived from it, which reveals nothing of the key.
 */
export function masterKeyCheck(master: Buffer): string {
  return createHmac('sha256', deriveKey(master, 'pseudonym'))
    .update('master-key-check')
    .digest('hex')
    .slice(0, 32);
}

/** `meta` key of the pseudonym key sealed under the master key (set by the first rotation). */
export const SEALED_PSEUDONYM_KEY = 'sealed_pseudonym_key';
export const PSEUDONYM_KEY_AAD = 'secret:pseudonym-key';

/** The pseudonym key: the sealed one in `meta` if a rotation stored it, else derived from `master`. */
export function pseudonymKeyOf(db: Db, master: Buffer): Buffer {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(SEALED_PSEUDONYM_KEY) as
    { value: string } | undefined;
  if (!row) return deriveKey(master, 'pseudonym');
  return aesGcmOpen(masterSealingKeys(master).secret, Buffer.from(row.value, 'base64'), PSEUDONYM_KEY_AAD);
}

/**
 * IVs are random 96-bit values from the CSPRNG, drawn a pool at a time: one `randomFillSync` per
 * `IV_POOL_IVS` seals instead of one `randomBytes` call (a round trip into OpenSSL) per seal,
 * which was a fifth of the hub's CPU at full ingest. Every pool byte is used once and the pool is
 * refilled before any is used again, so the IVs are exactly as random and as unique as before.
 */
const IV_POOL_IVS = 1024;
const ivPool = Buffer.alloc(IV_BYTES * IV_POOL_IVS);
let ivPoolUsed = ivPool.length;

/** Writes a fresh random IV into `out` at `at`. */
function takeIv(out: Buffer, at: number): void {
  if (ivPoolUsed === ivPool.length) {
    randomFillSync(ivPool);
    ivPoolUsed = 0;
  }
  ivPool.copy(out, at, ivPoolUsed, ivPoolUsed + IV_BYTES);
  ivPoolUsed += IV_BYTES;
}

export function aesGcmSeal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const sealed = Buffer.allocUnsafe(IV_BYTES + TAG_BYTES + plaintext.length);
  takeIv(sealed, 0);
  const cipher = createCipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = cipher.update(plaintext);
  const rest = cipher.final(); // GCM is a stream mode: update returns every byte, final none
  body.copy(sealed, IV_BYTES + TAG_BYTES);
  rest.copy(sealed, IV_BYTES + TAG_BYTES + body.length);
  cipher.getAuthTag().copy(sealed, IV_BYTES);
  return sealed;
}

/** Opens `iv | tag | ciphertext`. `aad` may be a buffer the caller reuses (it is copied). */
export function aesGcmOpen(key: Buffer, sealed: Buffer, aad: string | Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) {
    throw new VitalGateError('DECRYPTION_FAILED', 'ciphertext is truncated');
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(typeof aad === 'string' ? Buffer.from(aad, 'utf8') : aad);
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    plain = decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES));
    decipher.final(); // GCM yields nothing here; it checks the tag
  } catch {
    throw new VitalGateError('DECRYPTION_FAILED', 'ciphertext failed authentication');
  }
  return plain;
}

export interface SealedValue {
  keyVersion: number;
  ciphertext: Buffer;
}

interface DataKey {
  version: number;
  key: Buffer;
}

export class Keyring {
  private readonly wrapKey: Buffer;
  private readonly secretKey: Buffer;
  private pseudonymKey: Buffer | undefined;
  private readonly current = new Map<string, DataKey>();
  private readonly byVersion = new Map<string, Buffer>();

  constructor(
    private readonly db: Db,
    private readonly masterKey: Buffer,
  ) {
    const keys = masterSealingKeys(masterKey);
    this.wrapKey = keys.wrap;
    this.secretKey = keys.secret;
  }

  /** Seals under the subject's current data key (created on first use). */
  seal(subject: string, plaintext: Buffer, aad: string): SealedValue {
    const dataKey = this.currentKey(subject);
    return { keyVersion: dataKey.version, ciphertext: aesGcmSeal(dataKey.key, plaintext, aad) };
  }

  /**
   * Seals several values under one version of the subject's current data key, for values that
   * are stored next to each other with one key version.
   */
  sealer(subject: string): { keyVersion: number; seal(plaintext: Buffer, aad: string): Buffer } {
    const dataKey = this.currentKey(subject);
    return { keyVersion: dataKey.version, seal: (plaintext, aad) => aesGcmSeal(dataKey.key, plaintext, aad) };
  }

  open(subject: string, keyVersion: number, ciphertext: Buffer, aad: string): Buffer {
    return aesGcmOpen(this.keyAt(subject, keyVersion), ciphertext, aad);
  }

  /**
   * Opens many ciphertexts of one subject and key version, for bulk reads: the key is looked up
   * once (KEY_DESTROYED / KEY_NOT_FOUND are thrown here), and stays inside the returned function.
   */
  opener(subject: string, keyVersion: number): (ciphertext: Buffer, aad: string | Buffer) => Buffer {
    const key = this.keyAt(subject, keyVersion);
    return (ciphertext, aad) => aesGcmOpen(key, ciphertext, aad);
  }

  /**
   * A copy of a subject's data key, for opening its ciphertexts in a worker thread of this
   * process (dashboard-api/telemetry/opening-worker.ts), which wipes it after use. Throws as
   * `opener` does.
   */
  dataKeyCopy(subject: string, keyVersion: number): Uint8Array<ArrayBuffer> {
    const copy = new Uint8Array(KEY_BYTES);
    copy.set(this.keyAt(subject, keyVersion));
    return copy;
  }

  /** Starts a new key version for the subject; older versions still open what they sealed. */
  rotate(subject: string): number {
    const row = this.db
      .prepare('SELECT MAX(version) AS v, MAX(destroyed_at) AS d FROM data_keys WHERE subject = ?')
      .get(subject) as { v: number | null; d: number | null };
    if (row.d !== null)
      throw new VitalGateError('KEY_DESTROYED', 'the data key of this subject was destroyed');
    const version = (row.v ?? 0) + 1;
    const key = randomBytes(KEY_BYTES);
    this.db
      .prepare('INSERT INTO data_keys (subject, version, wrapped, created_at) VALUES (?, ?, ?, ?)')
      .run(subject, version, aesGcmSeal(this.wrapKey, key, wrapAad(subject, version)), Date.now());
    this.current.set(subject, { version, key });
    this.byVersion.set(`${subject}\u0000${version}`, key);
    return version;
  }

  /** Crypto-shredding: destroys every version of the subject's data key. */
  shred(subject: string): void {
    this.db
      .prepare(
        'UPDATE data_keys SET wrapped = NULL, destroyed_at = ? WHERE subject = ? AND destroyed_at IS NULL',
      )
      .run(Date.now(), subject);
    this.db
      .prepare(
        'INSERT INTO data_keys (subject, version, wrapped, created_at, destroyed_at) SELECT ?, 0, NULL, ?, ? WHERE NOT EXISTS (SELECT 1 FROM data_keys WHERE subject = ?)',
      )
      .run(subject, Date.now(), Date.now(), subject);
    this.current.delete(subject);
    for (const k of this.byVersion.keys()) if (k.startsWith(`${subject}\u0000`)) this.byVersion.delete(k);
  }

  isShredded(subject: string): boolean {
    const row = this.db
      .prepare('SELECT 1 FROM data_keys WHERE subject = ? AND destroyed_at IS NOT NULL')
      .get(subject);
    return row !== undefined;
  }

  /** Seals a secret of the hub itself (a CA key, a TOTP secret) directly under the master key. */
  sealSecret(purpose: string, plaintext: Buffer): Buffer {
    return aesGcmSeal(this.secretKey, plaintext, secretAad(purpose));
  }

  openSecret(purpose: string, sealed: Buffer): Buffer {
    return aesGcmOpen(this.secretKey, sealed, secretAad(purpose));
  }

  /** A stable keyed pseudonym (HMAC-SHA-256, 128 bits hex) for an identifier. */
  pseudonym(id: string): string {
    this.pseudonymKey ??= pseudonymKeyOf(this.db, this.masterKey);
    return createHmac('sha256', this.pseudonymKey).update(id).digest('hex').slice(0, 32);
  }

  private currentKey(subject: string): DataKey {
    const cached = this.current.get(subject);
    if (cached) return cached;
    const row = this.db
      .prepare(
        'SELECT version, wrapped, destroyed_at FROM data_keys WHERE subject = ? ORDER BY version DESC LIMIT 1',
      )
      .get(subject) as { version: number; wrapped: Buffer | null; destroyed_at: number | null } | undefined;
    if (!row) {
      this.rotate(subject);
      return this.current.get(subject)!;
    }
    if (row.destroyed_at !== null || row.wrapped === null) {
      throw new VitalGateError('KEY_DESTROYED', 'the data key of this subject was destroyed');
    }
    const dataKey = {
      version: row.version,
      key: aesGcmOpen(this.wrapKey, row.wrapped, wrapAad(subject, row.version)),
    };
    this.current.set(subject, dataKey);
    this.byVersion.set(`${subject}\u0000${row.version}`, dataKey.key);
    return dataKey;
  }

  private keyAt(subject: string, version: number): Buffer {
    const id = `${subject}\u0000${version}`;
    const cached = this.byVersion.get(id);
    if (cached) return cached;
    const row = this.db
      .prepare('SELECT wrapped, destroyed_at FROM data_keys WHERE subject = ? AND version = ?')
      .get(subject, version) as { wrapped: Buffer | null; destroyed_at: number | null } | undefined;
    if (!row) throw new VitalGateError('KEY_NOT_FOUND', 'no data key of that version for this subject');
    if (row.destroyed_at !== null || row.wrapped === null) {
      throw new VitalGateError('KEY_DESTROYED', 'the data key of this subject was destroyed');
    }
    const key = aesGcmOpen(this.wrapKey, row.wrapped, wrapAad(subject, version));
    this.byVersion.set(id, key);
    return key;
  }
}

/** Associated data of a wrapped data key: its subject and version. */
export function wrapAad(subject: string, version: number): string {
  return `datakey:${subject}:${version}`;
}

/** Associated data of a secret sealed under the master key: its purpose (`pki:root`, `totp:<user>`). */
export function secretAad(purpose: string): string {
  return `secret:${purpose}`;
}
