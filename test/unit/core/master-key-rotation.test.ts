// Master key rotation in the control plane: every value sealed under the master key is sealed
// under the new one, an interrupted rotation resumes where it stopped, pseudonyms stay, and the
// old key opens nothing afterwards. The end-to-end test with kill -9 is test/e2e/rotate-master.test.ts.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring, masterKeyCheck } from '../../../core/keyring.js';
import {
  DATA_KEY_SEALED_COLUMNS,
  MASTER_SEALED_COLUMNS,
  MasterKeyRotation,
  pendingRotation,
} from '../../../core/master-key-rotation.js';
import { PatientRegistry } from '../../../core/patient-registry.js';
import { openDatabase } from '../../../core/store/database.js';
import { ControlPlane } from '../../../core/store/control-plane.js';

function hubWithData(master: Buffer) {
  const store = new ControlPlane(openDatabase(':memory:'));
  const keyring = new Keyring(store.db, master);
  const patients = new PatientRegistry(store.patients, keyring, store.audit);
  const ids = Array.from(
    { length: 7 },
    (_, i) => patients.add({ name: `P${i}`, birthDate: '1950-01-01' }, 'test').id,
  );
  keyring.rotate(`patient:${ids[0]}`); // a second key version
  const erased = ids.pop()!;
  patients.erase(erased, 'test', 'asked'); // shredded keys stay shredded
  const readings = ids.map((id) =>
    keyring.seal(`patient:${id}`, Buffer.from(`hr of ${id}`), `reading:${id}`),
  );
  store.pkiMaterial.put('root', 'PEM', keyring.sealSecret('pki:root', Buffer.from('root key')));
  store.pkiMaterial.put('issuing', 'PEM', keyring.sealSecret('pki:issuing', Buffer.from('issuing key')));
  store.users.add({ username: 'dr.grey', role: 'clinician', passwordHash: 'x', mustChangePassword: false });
  store.users.update('dr.grey', {
    sealedTotpSecret: keyring.sealSecret('totp:dr.grey', Buffer.from('JBSWY3DP')),
  });
  const pseudonyms = ids.map((id) => keyring.pseudonym(id));
  return { store, patients, ids, erased, readings, pseudonyms };
}

describe('MasterKeyRotation', () => {
  it('re-seals everything under the new key, resumes after a stop midway, and leaves the old key nothing', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const hub = hubWithData(oldKey);
    const { store, ids } = hub;

    const first = new MasterKeyRotation(store.db, oldKey, newKey);
    expect(first.begin().resumed).toBe(false);
    expect(first.step(2)).toEqual({ table: 'data_keys', sealed: 2 });
    expect(first.step(2)).toEqual({ table: 'data_keys', sealed: 2 });
    // The process dies here: a new one resumes from the recorded progress.
    const progress = first.progress().find((p) => p.table === 'data_keys')!;
    expect(progress).toMatchObject({ done: 4 });
    expect(progress.total).toBeGreaterThan(4);
    expect(() => first.finish()).toThrow(expect.objectContaining({ code: 'ROTATION_INCOMPLETE' }));

    const second = new MasterKeyRotation(store.db, oldKey, newKey);
    expect(second.begin().resumed).toBe(true);
    const tables: string[] = [];
    for (let done = second.step(2); done; done = second.step(2)) tables.push(done.table);
    expect(new Set(tables)).toEqual(new Set(['data_keys', 'pki_material', 'users']));
    expect(second.progress().every((p) => p.done === p.total)).toBe(true);
    second.finish();
    expect(pendingRotation(store.db)).toBeUndefined();
    expect(store.meta.get('master_key_check')).toBe(masterKeyCheck(newKey));

    // Under the new key: every patient's data, the CA keys and the TOTP secret; same pseudonyms.
    const keyring = new Keyring(store.db, newKey);
    const patients = new PatientRegistry(store.patients, keyring, store.audit);
    for (const [i, id] of ids.entries()) {
      expect(patients.get(id).name).toBe(`P${i}`);
      const r = hub.readings[i]!;
      expect(keyring.open(`patient:${id}`, r.keyVersion, r.ciphertext, `reading:${id}`).toString()).toBe(
        `hr of ${id}`,
      );
      expect(keyring.pseudonym(id)).toBe(hub.pseudonyms[i]);
    }
    expect(keyring.isShredded(`patient:${hub.erased}`)).toBe(true);
    expect(keyring.openSecret('pki:root', store.pkiMaterial.get('root')!.sealedKey).toString()).toBe(
      'root key',
    );
    expect(keyring.openSecret('totp:dr.grey', store.users.get('dr.grey')!.sealedTotpSecret!).toString()).toBe(
      'JBSWY3DP',
    );

    // The old key opens nothing any more.
    const old = new Keyring(store.db, oldKey);
    expect(() => new PatientRegistry(store.patients, old, store.audit).get(ids[1]!)).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
    expect(() => old.openSecret('pki:issuing', store.pkiMaterial.get('issuing')!.sealedKey)).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
    expect(() => old.pseudonym(ids[0]!)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED' }));
  });

  it('keeps pseudonyms across two rotations', () => {
    const keys = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const hub = hubWithData(keys[0]!);
    for (const step of [0, 1]) {
      const rotation = new MasterKeyRotation(hub.store.db, keys[step]!, keys[step + 1]!);
      rotation.begin();
      while (rotation.step(100) !== undefined);
      rotation.finish();
    }
    const keyring = new Keyring(hub.store.db, keys[2]!);
    expect(hub.ids.map((id) => keyring.pseudonym(id))).toEqual(hub.pseudonyms);
    expect(new PatientRegistry(hub.store.patients, keyring, hub.store.audit).get(hub.ids[0]!).name).toBe(
      'P0',
    );
  });

  it('refuses the key in use, and a second rotation to another key while one is under way', () => {
    const oldKey = randomBytes(32);
    const hub = hubWithData(oldKey);
    expect(() => new MasterKeyRotation(hub.store.db, oldKey, oldKey).begin()).toThrow(
      expect.objectContaining({ code: 'ROTATION_SAME_KEY' }),
    );
    new MasterKeyRotation(hub.store.db, oldKey, randomBytes(32)).begin();
    const before = pendingRotation(hub.store.db);
    expect(() => new MasterKeyRotation(hub.store.db, oldKey, randomBytes(32)).begin()).toThrow(
      expect.objectContaining({ code: 'ROTATION_TO_OTHER_KEY' }),
    );
    expect(pendingRotation(hub.store.db)).toEqual(before);
  });

  it('knows every sealed column of the schema: under the master key, or under a data key', () => {
    const db = openDatabase(':memory:');
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    ).map((t) => t.name);
    const sealed = tables.flatMap((table) =>
      (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[])
        .map((c) => c.name)
        .filter((c) => /^sealed(_|$)|_sealed$|^wrapped$/.test(c))
        .map((c) => `${table}.${c}`),
    );
    const known = [...MASTER_SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`), ...DATA_KEY_SEALED_COLUMNS];
    expect(sealed.filter((c) => !known.includes(c))).toEqual([]);
    expect(sealed.length).toBeGreaterThanOrEqual(known.length);
  });
});
