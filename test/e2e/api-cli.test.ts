// The `vitalgate user` and `device` commands that share the API's services, run as an operator
// runs them (child processes on one data dir), in the order an operator would use them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'vg-api-cli-'));
const dataDir = join(scratch, 'hub');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const env = { VITALGATE_DATA_DIR: dataDir };
const json = async (args: string[]) => {
  const r = await runCli([...args, '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};

beforeAll(async () => {
  expect((await runCli(['init', '--json'], env)).code).toBe(0);
}, 60_000);

describe('vitalgate user', () => {
  it('add, reset-password, reset-mfa, disable, enable and unlock, each audited', async () => {
    const created = await json(['user', 'add', '--username', 'dr.cli', '--role', 'clinician']);
    expect(created.oneTimePassword).toMatch(/^[A-Za-z0-9]{20}$/);
    const reset = await json(['user', 'reset-password', 'dr.cli']);
    expect(reset.oneTimePassword).not.toBe(created.oneTimePassword);
    expect(await json(['user', 'reset-mfa', 'dr.cli'])).toMatchObject({ mfaEnrolled: false });
    expect(await json(['user', 'disable', 'dr.cli', '--reason', 'left the clinic'])).toMatchObject({
      disabled: true,
    });
    expect(await json(['user', 'enable', 'dr.cli'])).toMatchObject({ disabled: false });
    expect(await json(['user', 'unlock', 'dr.cli'])).toMatchObject({ locked: false });
    const missing = await runCli(['user', 'unlock', 'nobody'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const list = (await runCli(['user', 'list', '--json'], env)).stdout;
    expect(JSON.parse(list)).toEqual(
      expect.arrayContaining([expect.objectContaining({ username: 'dr.cli', role: 'clinician' })]),
    );
  });
});

describe('vitalgate device', () => {
  it('bind and unbind a registered device', async () => {
    const { id: patientId } = await json([
      'patient',
      'add',
      '--name',
      'Test Person',
      '--birth-date',
      '1960-02-03',
    ]);
    await json(['device', 'add', '--id', 'ox-cli', '--kind', 'pulse_oximeter']);
    expect(await json(['device', 'bind', 'ox-cli', '--patient', String(patientId)])).toMatchObject({
      id: 'ox-cli',
      patientId,
    });
    expect(await json(['device', 'unbind', 'ox-cli'])).toMatchObject({ patientId: null });
    const bad = await runCli(['device', 'bind', 'ox-cli', '--patient', 'pat_doesnotexist00'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('no such patient');
  });
});
