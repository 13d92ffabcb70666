// `vitalgate patient alert-settings` and `vitalgate alert defaults` as an operator runs them: a
// child process on a temp data dir. A change is shown with its old and new value and audited; a
// refused one is one line naming the field, a non-zero exit, and nothing stored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'vg-alert-cli-'));
const env = { VITALGATE_DATA_DIR: join(scratch, 'hub') };
let patientId: string;
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(async () => {
  expect((await runCli(['init', '--json'], env)).code).toBe(0);
  const added = await runCli(
    ['patient', 'add', '--name', 'Mary Seacole', '--birth-date', '1805-11-23', '--json'],
    env,
  );
  patientId = (JSON.parse(added.stdout) as { id: string }).id;
}, 60_000);

const stored = () => {
  const db = new Database(join(scratch, 'hub', 'control-plane.sqlite'), { readonly: true });
  try {
    return {
      rows: db.prepare('SELECT rule, parameter, value FROM alert_rule_parameters').all(),
      audits: db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'alert_settings.%'").get(),
    };
  } finally {
    db.close();
  }
};

describe('vitalgate patient alert-settings', () => {
  it('sets, shows and resets a patient’s thresholds, audited; refuses nonsense naming the field', async () => {
    const set = await runCli(
      [
        'patient',
        'alert-settings',
        patientId,
        '--set',
        'spo2_low.threshold=93',
        '--set',
        'spo2_low.clearAt=95',
      ],
      env,
    );
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('spo2_low.threshold: 90 → 93');
    expect(set.stdout).toMatch(/spo2_low\s+critical\s+threshold=93 \(patient\) clearAt=95 \(patient\)/);
    const after = stored();
    expect(after.rows).toHaveLength(2);

    const refused = await runCli(
      ['patient', 'alert-settings', patientId, '--set', 'spo2_low.threshold=120'],
      env,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('spo2_low.threshold must be between 50 and 100');
    const wrongSide = await runCli(
      ['patient', 'alert-settings', patientId, '--set', 'spo2_low.clearAt=91'],
      env,
    );
    expect(wrongSide.code).not.toBe(0);
    expect(wrongSide.stderr).toContain('spo2_low.clearAt (91) must be at or above spo2_low.threshold (93)');
    expect(stored()).toEqual(after);

    const reset = await runCli(
      [
        'patient',
        'alert-settings',
        patientId,
        '--reset',
        'spo2_low.clearAt',
        '--reset',
        'spo2_low.threshold',
        '--json',
      ],
      env,
    );
    expect(reset.code).toBe(0);
    const body = JSON.parse(reset.stdout) as { changed: unknown; rules: { rule: string; sources: object }[] };
    expect(body.changed).toEqual([
      { field: 'spo2_low.threshold', old: 93, new: 90 },
      { field: 'spo2_low.clearAt', old: 95, new: 92 },
    ]);
    expect(body.rules.find((r) => r.rule === 'spo2_low')?.sources).toMatchObject({ threshold: 'rule' });
    expect(stored().rows).toEqual([]);
  }, 60_000);

  it('alert defaults: program-wide values, and a usage error for a malformed --set', async () => {
    const set = await runCli(['alert', 'defaults', '--set', 'heart_rate_high.threshold=140', '--json'], env);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      changed: [{ field: 'heart_rate_high.threshold', old: 130, new: 140 }],
    });
    const bad = await runCli(['alert', 'defaults', '--set', 'heart_rate_high.threshold'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('expected RULE.PARAMETER=NUMBER');
    expect((await runCli(['patient', 'alert-settings', '--help'], env)).stdout).toContain(
      '--reset RULE.PARAMETER',
    );
  }, 60_000);
});
