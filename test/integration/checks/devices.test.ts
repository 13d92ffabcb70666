import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckContext, DeploymentCheck } from '../../../hub/checks/check.js';
import * as devices from '../../../hub/checks/devices.js';
import { runCli } from '../../support/cli.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { checkContext } from '../../support/checks.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
  await pki.issueDevice('bp-7', 'bp_monitor');
  pki.store.db.prepare("UPDATE devices SET model = 'Omron X7' WHERE id = 'bp-7'").run();
});
afterAll(() => pki.cleanup());

const ctx = (now = Date.now()): CheckContext => checkContext(pki, { now });
const run = (check: DeploymentCheck, now?: number) => Promise.resolve(check.run(ctx(now)));

describe('device checks', () => {
  it('VG-DEV-002 warns about a model without an evaluation record until one is recorded with the CLI', async () => {
    expect(await run(devices.modelEvaluated)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('Omron X7'),
    });
    const result = await runCli(
      [
        'model',
        'set',
        'Omron X7',
        '--evaluated',
        '2026-01-15',
        '--mds2',
        '--end-of-support',
        '2030-12-31',
        '--min-firmware',
        '2.1.0',
      ],
      { VITALGATE_DATA_DIR: pki.dataDir },
    );
    expect(result.stderr).toBe('');
    expect(await run(devices.modelEvaluated)).toMatchObject({ status: 'pass' });
  });

  it('VG-DEV-001 fails for firmware below the approved baseline (from status messages)', async () => {
    pki.store.devices.setFirmware('bp-7', '2.10.1');
    expect((await run(devices.firmwareBaseline)).status).toBe('pass');
    pki.store.devices.setFirmware('bp-7', '2.0.9');
    expect(await run(devices.firmwareBaseline)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('bp-7 (2.0.9 < 2.1.0)'),
    });
  });

  it('VG-DEV-003 fails once the model is past its end of support', async () => {
    expect((await run(devices.pastEndOfSupport)).status).toBe('pass');
    expect(await run(devices.pastEndOfSupport, Date.parse('2031-01-02'))).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('bp-7'),
    });
  });

  it('compares versions numerically', () => {
    expect(devices.compareVersions('1.10.0', '1.9.3')).toBe(1);
    expect(devices.compareVersions('1.4', '1.4.0')).toBe(0);
    expect(devices.compareVersions('0.9.9', '1.0.0')).toBe(-1);
  });
});
