// The CLI as an operator runs it: a child process, a temp data dir, exit codes and output.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../hub/cli.js';
import { COMMANDS } from '../../hub/commands/index.js';
import { runCli } from '../support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'vg-cli-'));
const dataDir = join(scratch, 'hub');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const env = { VITALGATE_DATA_DIR: dataDir };
let firstInit: {
  admin: { username: string; oneTimePassword: string };
  caCertificate: string;
  created: boolean;
};

beforeAll(async () => {
  const result = await runCli(['init', '--json'], env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  firstInit = JSON.parse(result.stdout);
}, 60_000);

describe('vitalgate init', () => {
  it('creates the CA and prints the first admin once', () => {
    expect(firstInit.created).toBe(true);
    expect(firstInit.admin.username).toBe('admin');
    expect(firstInit.admin.oneTimePassword).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(firstInit.caCertificate).toContain('BEGIN CERTIFICATE');
  });

  it('is idempotent: a second run keeps the CA and creates no admin', async () => {
    const again = await runCli(['init', '--json'], env);
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout);
    expect(second).toMatchObject({ created: false, admin: null, caCertificate: firstInit.caCertificate });
  });
});

describe('device, patient and user commands', () => {
  it('register a device and issue its token', async () => {
    const added = await runCli(['device', 'add', '--id', 'ox-7', '--kind', 'pulse_oximeter', '--json'], env);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 'ox-7', kind: 'pulse_oximeter', status: 'pending' });
    const token = await runCli(['device', 'token', 'ox-7', '--ttl', '2h', '--json'], env);
    const body = JSON.parse(token.stdout);
    expect(body.deviceId).toBe('ox-7');
    expect(body.token).toMatch(/^vgt_[A-Za-z0-9_-]{43}$/);
    expect(new Date(body.expiresAt).getTime() - Date.now()).toBeGreaterThan(7_100_000);
    const db = new Database(join(dataDir, 'control-plane.sqlite'), { readonly: true });
    const stored = db.prepare('SELECT token_hash FROM enrollment_tokens').all() as { token_hash: string }[];
    db.close();
    expect(JSON.stringify(stored)).not.toContain(body.token);
  });

  it('refuse bad input with one line and a non-zero exit, storing nothing', async () => {
    const bad = await runCli(['device', 'add', '--id', 'x', '--kind', 'toaster'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('kind must be one of');
    const dup = await runCli(['device', 'add', '--id', 'ox-7', '--kind', 'pulse_oximeter'], env);
    expect(dup.stderr).toContain('already exists');
    const list = JSON.parse((await runCli(['device', 'list', '--json'], env)).stdout) as { id: string }[];
    expect(list.map((d) => d.id)).toEqual(['ox-7']);
  });

  it('register a patient and assign a clinician', async () => {
    const patient = JSON.parse(
      (
        await runCli(
          ['patient', 'add', '--name', 'Ada Lovelace', '--birth-date', '1815-12-10', '--json'],
          env,
        )
      ).stdout,
    );
    expect(patient.id).toMatch(/^pat_/);
    const user = JSON.parse(
      (await runCli(['user', 'add', '--username', 'dr.who', '--role', 'clinician', '--json'], env)).stdout,
    );
    expect(user).toMatchObject({ username: 'dr.who', oneTimePassword: expect.any(String) });
    const assign = await runCli(['patient', 'assign', patient.id, '--user', 'dr.who'], env);
    expect(assign.code).toBe(0);
    const db = new Database(join(dataDir, 'control-plane.sqlite'), { readonly: true });
    const row = db.prepare('SELECT sealed_demographics FROM patients WHERE id = ?').get(patient.id) as {
      sealed_demographics: Buffer;
    };
    db.close();
    expect(row.sealed_demographics.toString('latin1')).not.toContain('Lovelace');
  });

  it('revoke needs a reason and is final', async () => {
    const noReason = await runCli(['device', 'revoke', 'ox-7'], env);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');
    expect((await runCli(['device', 'revoke', 'ox-7', '--reason', 'lost'], env)).code).toBe(0);
    const show = JSON.parse((await runCli(['device', 'show', 'ox-7', '--json'], env)).stdout);
    expect(show).toMatchObject({ status: 'revoked', statusReason: 'lost' });
    expect((await runCli(['device', 'enable', 'ox-7', '--reason', 'found it'], env)).code).toBe(1);
  });
});

describe('configuration errors', () => {
  it('stop with one line naming the setting', async () => {
    const result = await runCli(['device', 'list'], { ...env, VITALGATE_API_PORT: 'eighty' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^vitalgate device list: config: VITALGATE_API_PORT: .*"eighty"/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('say how to initialise a missing hub', async () => {
    const result = await runCli(['device', 'list'], { VITALGATE_DATA_DIR: join(dataDir, 'nope') });
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('run "vitalgate init" first');
  });
});

describe('vitalgate check', () => {
  it('exits 0 on a freshly initialised hub; only the backup checks say what is missing', async () => {
    const result = await runCli(['check', '--json'], env);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    const failed = report.results.filter((r: { status: string }) => r.status === 'fail');
    expect(failed.map((r: { id: string }) => r.id)).toEqual(['VG-DATA-009']);
    expect(report.results.find((r: { id: string }) => r.id === 'VG-DATA-006')).toMatchObject({
      status: 'warn',
    });
  });

  it('exits 2 when the checks cannot run', async () => {
    const result = await runCli(['check'], { VITALGATE_DATA_DIR: join(dataDir, 'missing') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('could not run');
  });
});

describe('vitalgate backup', () => {
  it('writes a verified copy and a manifest, and the backup check then passes', async () => {
    const to = join(dataDir, '..', 'backup');
    const result = await runCli(['backup', '--to', to, '--json'], env);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({
      masterKeyIncluded: false,
      parts: expect.any(Number),
      backupId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const report = JSON.parse((await runCli(['check', '--json'], env)).stdout);
    expect(report.results.find((r: { id: string }) => r.id === 'VG-DATA-006')).toMatchObject({
      status: 'pass',
    });
  });

  it('refuses a target inside the data dir', async () => {
    const result = await runCli(['backup', '--to', join(dataDir, 'inside')], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('outside the data dir');
  });

  it('backs up into VITALGATE_BACKUP_DIR without --to; a drill of it makes VG-DATA-009 pass', async () => {
    const missing = await runCli(['backup'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--to is required when VITALGATE_BACKUP_DIR is unset');
    const withDir = { ...env, VITALGATE_BACKUP_DIR: join(dataDir, '..', 'backups') };
    const check = async () =>
      JSON.parse((await runCli(['check', '--json'], withDir)).stdout).results.find(
        (r: { id: string }) => r.id === 'VG-DATA-009',
      );
    expect(await check()).toMatchObject({ status: 'fail' });
    expect((await runCli(['backup'], withDir)).code).toBe(0);
    const drill = await runCli(['backup', 'drill'], withDir);
    expect(drill.stdout).toMatch(/drill passed: .*backups\/vitalgate-\d{8}T\d{6}Z/);
    expect(drill.code).toBe(0);
    expect(await check()).toMatchObject({ status: 'pass' });
  }, 60_000);
});

describe('audit verify', () => {
  it('passes on the untouched chain and names the first bad entry after an edit', async () => {
    const ok = await runCli(['audit', 'verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/audit chain intact: \d+ entries verified/);
    const db = new Database(join(dataDir, 'control-plane.sqlite'));
    db.prepare("UPDATE audit_log SET actor = 'cli:mallory' WHERE seq = 3").run();
    db.close();
    const broken = await runCli(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('audit chain broken at entry 3');
    // A backup of a tampered control plane does not verify, and says so.
    const backup = await runCli(['backup', '--to', join(dataDir, '..', 'backup-2')], env);
    expect(backup.code).toBe(1);
    expect(backup.stderr).toContain('the audit chain breaks at entry 3');
  });
});

describe('--help', () => {
  it('is there for every command and the top level', async () => {
    const top = await runCli(['--help'], env);
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toContain(command.name);
    // Each command's help, in-process (the same main() the entry point runs), to keep it quick.
    for (const command of COMMANDS) {
      let out = '';
      const io = { out: (l: string) => (out += `${l}\n`), err: () => {}, json: () => {}, isTTY: false, env };
      expect(await main([...command.name.split(' '), '--help'], io), command.name).toBe(0);
      expect(out).toContain(`Usage: vitalgate ${command.name}`);
    }
  });

  it('unknown commands and options exit 2', async () => {
    expect((await runCli(['frobnicate'], env)).code).toBe(2);
    expect((await runCli(['device', 'list', '--bogus'], env)).code).toBe(2);
  });
});
