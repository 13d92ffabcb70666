// `vitalgate rpm close` through the real CLI on a data dir and the run's InfluxDB: the month's
// statements are sealed (one per enrolled patient) and audited as cli:<user>; closing it again
// is refused in one line and changes nothing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';
import { addPatient } from '../support/ingest.js';
import { testInflux, type TestInflux } from '../support/influx.js';

let pki: TestPki;
let influx: TestInflux;
let env: Record<string, string>;
// Two months back (UTC, the default site time zone): over, whatever today is.
const d = new Date();
const month = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 2, 1)).toISOString().slice(0, 7);

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  env = {
    VITALGATE_DATA_DIR: pki.dataDir,
    VITALGATE_INFLUX_URL: influx.url,
    VITALGATE_INFLUX_DB: influx.database,
  };
  const patientId = addPatient(pki, 'Cli Patient');
  pki.store.rpmEnrolments.put({
    patientId,
    monitoringStart: `${month}-01`,
    endedOn: null,
    consentAt: Date.now(),
    consentBy: 'user:rn.a',
    consentMethod: 'written',
    setupDate: null,
    enrolledBy: 'user:rn.a',
    enrolledAt: Date.now(),
  });
});

afterAll(async () => {
  await influx?.drop();
  pki?.cleanup();
});

it('closes a month once, sealed and audited as the host operator', async () => {
  const first = await runCli(['rpm', 'close', '--month', month, '--json'], env);
  expect(first.code, first.stderr).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ month, statements: 1 });
  expect(pki.store.rpmStatements.forMonth(month)).toHaveLength(1);
  const seal = pki.store.audit.list({ action: 'rpm.statement.close' });
  expect(seal).toHaveLength(1);
  expect(seal[0]!.actor).toMatch(/^cli:/);
  expect(pki.store.audit.verify().ok).toBe(true);

  const again = await runCli(['rpm', 'close', '--month', month], env);
  expect(again.code).toBe(1);
  expect(again.stderr.trim().split('\n')).toHaveLength(1);
  expect(again.stderr).toContain(`${month} is closed already`);
  expect(pki.store.audit.list({ action: 'rpm.statement.close' })).toHaveLength(1);
});
