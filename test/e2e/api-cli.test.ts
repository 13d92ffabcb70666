// The `vitalgate user` and `device` commands that share the API's services, run as an operator
// runs them (child processes on one data dir), in the order an operator would use them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ApiSessionRepository } from '../../core/store/api-sessions.js';
import { ControlPlane } from '../../core/store/control-plane.js';
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
    // The test reads the control plane the CLI writes, and gives the account live API sessions
    // (as a login would) to see each command end them.
    const store = ControlPlane.open(dataDir);
    onTestFinished(() => store.close());
    const apiSessions = new ApiSessionRepository(store.db);
    const actor = `cli:${userInfo().username}`;
    const audited = (action: string) =>
      store.audit.list({ action, target: 'user:dr.cli' }).map((e) => ({
        actor: e.actor,
        outcome: e.outcome,
        details: e.details ?? null,
      }));
    let session = 0;
    const openSession = () => {
      const tokenHash = `test-session-${++session}`;
      const at = Date.now();
      apiSessions.add({
        tokenHash,
        username: 'dr.cli',
        createdAt: at,
        lastSeenAt: at,
        expiresAt: at + 3_600_000,
        source: '127.0.0.1',
      });
      return tokenHash;
    };
    const ended = (tokenHash: string) => {
      const record = apiSessions.get(tokenHash)!;
      return { ended: record.endedAt !== null, reason: record.endReason };
    };

    const created = await json(['user', 'add', '--username', 'dr.cli', '--role', 'clinician']);
    expect(created.oneTimePassword).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(audited('user.create')).toEqual([{ actor, outcome: 'success', details: { role: 'clinician' } }]);
    expect(JSON.stringify(store.audit.list({ target: 'user:dr.cli' }))).not.toContain(
      String(created.oneTimePassword),
    );

    const beforeReset = openSession();
    const reset = await json(['user', 'reset-password', 'dr.cli']);
    expect(reset.oneTimePassword).not.toBe(created.oneTimePassword);
    expect(ended(beforeReset)).toEqual({ ended: true, reason: 'password_reset' });
    expect(audited('user.password.reset')).toEqual([{ actor, outcome: 'success', details: null }]);

    const beforeMfaReset = openSession();
    expect(await json(['user', 'reset-mfa', 'dr.cli'])).toMatchObject({ mfaEnrolled: false });
    expect(ended(beforeMfaReset)).toEqual({ ended: true, reason: 'mfa_reset' });
    expect(audited('user.mfa.reset')).toEqual([{ actor, outcome: 'success', details: null }]);

    const beforeDisable = openSession();
    expect(await json(['user', 'disable', 'dr.cli', '--reason', 'left the clinic'])).toMatchObject({
      disabled: true,
    });
    expect(ended(beforeDisable)).toEqual({ ended: true, reason: 'account_disabled' });
    expect(audited('user.disable')).toEqual([
      { actor, outcome: 'success', details: { reason: 'left the clinic' } },
    ]);
    // Each of the three ended its one live session, audited with the reason.
    expect(audited('auth.session.end').map((e) => e.details)).toEqual([
      { reason: 'account_disabled', sessions: 1 },
      { reason: 'mfa_reset', sessions: 1 },
      { reason: 'password_reset', sessions: 1 },
    ]);
    expect(apiSessions.listLive(Date.now(), 'dr.cli')).toEqual([]);

    expect(await json(['user', 'enable', 'dr.cli'])).toMatchObject({ disabled: false });
    expect(audited('user.enable')).toEqual([{ actor, outcome: 'success', details: null }]);
    expect(await json(['user', 'unlock', 'dr.cli'])).toMatchObject({ locked: false });
    expect(audited('user.unlock')).toHaveLength(1);
    expect(audited('user.unlock')[0]).toMatchObject({ actor, outcome: 'success' });

    const missing = await runCli(['user', 'unlock', 'nobody'], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(store.audit.list({ target: 'user:nobody' })).toEqual([]);
    expect(store.users.get('nobody')).toBeUndefined();
    const list = (await runCli(['user', 'list', '--json'], env)).stdout;
    expect(JSON.parse(list)).toEqual(
      expect.arrayContaining([expect.objectContaining({ username: 'dr.cli', role: 'clinician' })]),
    );
    expect(store.audit.verify().ok).toBe(true);
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
