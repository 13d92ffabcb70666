// Master key rotation as an operator runs it: `vitalgate keys rotate-master` killed with kill -9
// midway, every other command refusing the half-rotated hub, the same command resuming, and then
// every patient's data, the CA keys and the TOTP secrets opening under the new key only.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { Keyring } from '../../core/keyring.js';
import { pendingRotation } from '../../core/master-key-rotation.js';
import { PatientRegistry } from '../../core/patient-registry.js';
import { ControlPlane } from '../../core/store/control-plane.js';
import { openContext } from '../../hub/context.js';
import { DataDirLock } from '../../hub/data-dir-lock.js';
import { BIN, runCli, runTemp } from '../support/cli.js';

const DIE = fileURLToPath(new URL('../support/die-on-line.mjs', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'vg-rotate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const dataDir = join(scratch, 'hub');
const env = { VITALGATE_DATA_DIR: dataDir };
const newKeyFile = join(scratch, 'new.key');
const newKey = randomBytes(32);
let oldKey: Buffer;
const patients: { id: string; name: string; reading: { keyVersion: number; ciphertext: Buffer } }[] = [];
let pseudonyms: string[];

beforeAll(async () => {
  const init = await runCli(['init', '--json'], env);
  expect(init.code).toBe(0);
  oldKey = Buffer.from(readFileSync(join(dataDir, 'master.key'), 'utf8').trim(), 'base64');
  // Patients with demographics and a sealed reading each, and a clinician with TOTP.
  const ctx = openContext(loadConfig({ env }));
  try {
    const registry = new PatientRegistry(ctx.store.patients, ctx.keyring, ctx.store.audit);
    for (let i = 0; i < 12; i++) {
      const { id } = registry.add({ name: `Patient ${i}`, birthDate: '1960-02-29' }, 'test');
      const reading = ctx.keyring.seal(`patient:${id}`, Buffer.from(`spo2 ${90 + i}`), `reading:${id}`);
      patients.push({ id, name: `Patient ${i}`, reading });
    }
    ctx.store.users.add({
      username: 'dr.grey',
      role: 'clinician',
      passwordHash: 'x',
      mustChangePassword: false,
    });
    ctx.store.users.update('dr.grey', {
      sealedTotpSecret: ctx.keyring.sealSecret('totp:dr.grey', Buffer.from('JBSWY3DPEHPK3PXP')),
    });
    pseudonyms = patients.map((p) => ctx.keyring.pseudonym(p.id));
  } finally {
    ctx.close();
  }
  writeFileSync(newKeyFile, `${newKey.toString('base64')}\n`, { mode: 0o600 });
}, 60_000);

/** Runs rotate-master in a child that kills itself with SIGKILL after its `n`-th progress line. */
function rotateAndDie(n: number): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', DIE, BIN, 'keys', 'rotate-master', '--new-key', newKeyFile, '--batch', '2'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          ...runTemp(),
          ...env,
          VG_DIE_ON: '^rotate-master: \\d+ of \\d+',
          VG_DIE_AFTER: String(n),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ signal, stderr }));
  });
}

function auditPhases(): string[] {
  const store = ControlPlane.open(dataDir);
  try {
    return store.audit
      .list({ action: 'keys.rotate_master' })
      .map((e) => String(e.details?.phase ?? e.outcome))
      .reverse();
  } finally {
    store.close();
  }
}

describe('vitalgate keys rotate-master', () => {
  it('refuses while the hub runs, and a key file others can read, changing nothing', async () => {
    const hubLock = DataDirLock.acquire(dataDir); // what a running hub holds
    try {
      const running = await runCli(['keys', 'rotate-master', '--new-key', newKeyFile], env);
      expect(running.code).toBe(1);
      expect(running.stderr).toContain(`the hub is running on this data dir (pid ${process.pid}): stop it`);
    } finally {
      hubLock.release();
    }
    const exposed = join(scratch, 'exposed.key');
    writeFileSync(exposed, `${randomBytes(32).toString('base64')}\n`, { mode: 0o644 });
    const refused = await runCli(['keys', 'rotate-master', '--new-key', exposed], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/exposed.key is readable by other users/);
    const store = ControlPlane.open(dataDir);
    try {
      expect(pendingRotation(store.db)).toBeUndefined();
    } finally {
      store.close();
    }
    expect(auditPhases()).toEqual([]);
  });

  it('survives kill -9 midway: the hub is refused until the same command resumes and finishes', async () => {
    const killed = await rotateAndDie(3);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toMatch(/rotate-master: 6 of \d+ sealed values/);
    const store = ControlPlane.open(dataDir);
    try {
      expect(pendingRotation(store.db)?.cursors.data_keys).toBeGreaterThan(0);
    } finally {
      store.close();
    }
    // Half rotated: no command opens the hub (the hub itself would not start either).
    const list = await runCli(['device', 'list'], env);
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/a master key rotation was interrupted: run "vitalgate keys rotate-master/);

    const resumed = await runCli(['keys', 'rotate-master', '--new-key', newKeyFile, '--json'], env);
    expect(resumed.stderr).not.toMatch(/unexpected error/);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ rotated: true, resumed: true });
    expect(readFileSync(join(dataDir, 'master.key'), 'utf8').trim()).toBe(newKey.toString('base64'));
    expect(auditPhases()).toEqual(['started', 'resumed', 'finished']);
    expect((await runCli(['audit', 'verify'], env)).code).toBe(0);
  });

  it('every patient reads back under the new key, pseudonyms unchanged, and the old key is refused', async () => {
    const ctx = openContext(loadConfig({ env }));
    try {
      const registry = new PatientRegistry(ctx.store.patients, ctx.keyring, ctx.store.audit);
      for (const p of patients) {
        expect(registry.get(p.id).name).toBe(p.name);
        expect(
          ctx.keyring
            .open(`patient:${p.id}`, p.reading.keyVersion, p.reading.ciphertext, `reading:${p.id}`)
            .toString(),
        ).toMatch(/^spo2 \d+$/);
      }
      expect(patients.map((p) => ctx.keyring.pseudonym(p.id))).toEqual(pseudonyms);
      for (const m of ['root', 'issuing']) {
        expect(
          ctx.keyring.openSecret(`pki:${m}`, ctx.store.pkiMaterial.get(m)!.sealedKey).length,
        ).toBeGreaterThan(0);
      }
      expect(
        ctx.keyring.openSecret('totp:dr.grey', ctx.store.users.get('dr.grey')!.sealedTotpSecret!).toString(),
      ).toBe('JBSWY3DPEHPK3PXP');
      const old = new Keyring(ctx.store.db, oldKey);
      expect(() => old.openSecret('pki:root', ctx.store.pkiMaterial.get('root')!.sealedKey)).toThrow(
        expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
      );
    } finally {
      ctx.close();
    }
    const withOld = await runCli(['device', 'list'], {
      ...env,
      VITALGATE_MASTER_KEY: oldKey.toString('base64'),
    });
    expect(withOld.code).toBe(1);
    expect(withOld.stderr).toMatch(/is not the one this hub was initialised with/);
  });
});
