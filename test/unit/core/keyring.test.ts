import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Keyring, loadMasterKey, masterKeyPath } from '../../../core/keyring.js';
import { openDatabase } from '../../../core/store/database.js';

function keyring() {
  const db = openDatabase(':memory:');
  return { db, ring: new Keyring(db, randomBytes(32)) };
}

describe('Keyring', () => {
  it('round-trips a sealed value bound to its associated data', () => {
    const { ring } = keyring();
    const sealed = ring.seal('patient:p1', Buffer.from('72'), 'dev-1|heart_rate|1000');
    expect(sealed.keyVersion).toBe(1);
    expect(sealed.ciphertext.includes(Buffer.from('72'))).toBe(false);
    expect(ring.open('patient:p1', 1, sealed.ciphertext, 'dev-1|heart_rate|1000').toString()).toBe('72');
  });

  it('refuses a tampered ciphertext', () => {
    const { ring } = keyring();
    const { ciphertext } = ring.seal('patient:p1', Buffer.from('97'), 'aad');
    ciphertext[ciphertext.length - 1]! ^= 0x01;
    expect(() => ring.open('patient:p1', 1, ciphertext, 'aad')).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
  });

  it('refuses a ciphertext moved to another series or another subject', () => {
    const { ring } = keyring();
    const { ciphertext } = ring.seal('patient:p1', Buffer.from('97'), 'dev-1|spo2|1000');
    expect(() => ring.open('patient:p1', 1, ciphertext, 'dev-1|spo2|2000')).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
    ring.seal('patient:p2', Buffer.from('x'), 'a');
    expect(() => ring.open('patient:p2', 1, ciphertext, 'dev-1|spo2|1000')).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
  });

  it('keeps old key versions readable after rotation', () => {
    const { ring } = keyring();
    const old = ring.seal('patient:p1', Buffer.from('old'), 'a');
    expect(ring.rotate('patient:p1')).toBe(2);
    const fresh = ring.seal('patient:p1', Buffer.from('new'), 'a');
    expect(fresh.keyVersion).toBe(2);
    expect(ring.open('patient:p1', 1, old.ciphertext, 'a').toString()).toBe('old');
    expect(ring.open('patient:p1', 2, fresh.ciphertext, 'a').toString()).toBe('new');
  });

  it('makes a shredded subject unreadable, also for a fresh keyring instance', () => {
    const { db, ring } = keyring();
    const master = randomBytes(32);
    const ring2 = new Keyring(db, master);
    const sealed = ring2.seal('patient:p1', Buffer.from('72'), 'a');
    ring2.shred('patient:p1');
    expect(() => ring2.open('patient:p1', sealed.keyVersion, sealed.ciphertext, 'a')).toThrow(
      expect.objectContaining({ code: 'KEY_DESTROYED' }),
    );
    expect(() => new Keyring(db, master).open('patient:p1', 1, sealed.ciphertext, 'a')).toThrow(
      expect.objectContaining({ code: 'KEY_DESTROYED' }),
    );
    expect(() => ring2.seal('patient:p1', Buffer.from('new'), 'a')).toThrow(
      expect.objectContaining({ code: 'KEY_DESTROYED' }),
    );
    const row = db.prepare("SELECT wrapped FROM data_keys WHERE subject = 'patient:p1'").get() as {
      wrapped: Buffer | null;
    };
    expect(row.wrapped).toBeNull();
    expect(ring.isShredded('patient:p1')).toBe(true);
  });

  it('does not open data keys with another master key', () => {
    const db = openDatabase(':memory:');
    const sealed = new Keyring(db, randomBytes(32)).seal('s', Buffer.from('x'), 'a');
    expect(() => new Keyring(db, randomBytes(32)).open('s', 1, sealed.ciphertext, 'a')).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
  });

  it('gives every seal its own IV, across refills of the IV pool', () => {
    const { ring } = keyring();
    const ivs = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const { ciphertext } = ring.seal('patient:p1', Buffer.from(`reading ${i}`), `aad ${i}`);
      expect(ciphertext.length).toBe(12 + 16 + `reading ${i}`.length);
      ivs.add(ciphertext.subarray(0, 12).toString('hex'));
      expect(ring.open('patient:p1', 1, ciphertext, `aad ${i}`).toString()).toBe(`reading ${i}`);
    }
    expect(ivs.size).toBe(3000);
  });

  it('seals hub secrets bound to their purpose', () => {
    const { ring } = keyring();
    const sealed = ring.sealSecret('ca:root', Buffer.from('pkcs8'));
    expect(ring.openSecret('ca:root', sealed).toString()).toBe('pkcs8');
    expect(() => ring.openSecret('ca:issuing', sealed)).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
  });

  it('derives stable pseudonyms that do not reveal the id', () => {
    const { db } = keyring();
    const master = randomBytes(32);
    const a = new Keyring(db, master).pseudonym('pat_123');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(new Keyring(db, master).pseudonym('pat_123')).toBe(a);
    expect(new Keyring(db, master).pseudonym('pat_124')).not.toBe(a);
    expect(new Keyring(db, randomBytes(32)).pseudonym('pat_123')).not.toBe(a);
  });
});

describe('loadMasterKey', () => {
  it('creates a 0600 key file once and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-key-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const first = loadMasterKey({ dataDir: dir, create: true });
    expect(first.key).toHaveLength(32);
    expect(statSync(masterKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(loadMasterKey({ dataDir: dir }).key.equals(first.key)).toBe(true);
  });

  it('prefers the configured key and reports where it came from', () => {
    const key = randomBytes(32);
    const loaded = loadMasterKey({ dataDir: '/nonexistent', base64: key.toString('base64') });
    expect(loaded.origin).toBe('env');
    expect(loaded.key.equals(key)).toBe(true);
  });

  it('refuses a missing, world-readable or malformed key file with a clear code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-key-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    expect(() => loadMasterKey({ dataDir: dir })).toThrow(
      expect.objectContaining({ code: 'MASTER_KEY_MISSING' }),
    );
    loadMasterKey({ dataDir: dir, create: true });
    chmodSync(masterKeyPath(dir), 0o644);
    expect(() => loadMasterKey({ dataDir: dir })).toThrow(
      expect.objectContaining({ code: 'MASTER_KEY_EXPOSED' }),
    );
    writeFileSync(masterKeyPath(dir), 'c2hvcnQ=\n', { mode: 0o600 });
    chmodSync(masterKeyPath(dir), 0o600);
    expect(() => loadMasterKey({ dataDir: dir })).toThrow(
      expect.objectContaining({ code: 'MASTER_KEY_INVALID' }),
    );
  });
});
