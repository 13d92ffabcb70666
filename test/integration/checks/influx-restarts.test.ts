// Deployment check VG-DATA-008 on a real control plane: no restart of the managed InfluxDB
// passes, one warns, repeated restarts in a day fail, older ones no longer count, and an
// external InfluxDB is not the hub's to restart. (The restarts themselves are raised by the
// running hub: test/e2e/influx-supervision.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPEATED_RESTARTS, influxRestarts } from '../../../hub/checks/influx-restarts.js';
import { INFLUXDB_RESTARTED } from '../../../hub/influx-supervisor.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(() => pki?.cleanup());

const restart = () =>
  pki.store.securityEvents.add({ kind: INFLUXDB_RESTARTED, severity: 'high', details: {} });
const run = (now = Date.now()) => influxRestarts.run(checkContext(pki, { now }));

describe('VG-DATA-008', () => {
  it('passes without restarts, warns on one, fails on repeated restarts within a day', async () => {
    expect(await run()).toMatchObject({ status: 'pass' });
    restart();
    expect(await run()).toMatchObject({ status: 'warn', evidence: expect.stringContaining('1 time') });
    for (let i = 1; i < REPEATED_RESTARTS; i++) restart();
    const failed = await run();
    expect(failed).toMatchObject({
      status: 'fail',
      evidence: `the managed InfluxDB was restarted ${REPEATED_RESTARTS} times in the last 24 hours`,
    });
    expect(failed.remediation).toContain('influxd.log');
    // A day later they are history.
    expect(await run(Date.now() + 86_400_000 + 1_000)).toMatchObject({ status: 'pass' });
  });

  it('is not applicable with an external InfluxDB', async () => {
    const outcome = await influxRestarts.run(
      checkContext(pki, { config: { ...pki.config, influxUrl: 'http://influx.example:8086' } }),
    );
    expect(outcome.status).toBe('not_applicable');
  });
});
