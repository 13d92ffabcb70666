// One hub per data dir, with two real `vitalgate start` processes: the second fails at once with
// one line naming the first one's pid and touches nothing (the first hub's managed InfluxDB, spool
// and hub.json stay; it keeps serving); CLI commands keep working beside the running hub; and a
// hub killed with SIGKILL leaves no stale lock: the next start takes the data dir.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { runCli } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';

let pki: TestPki;
let first: HubProcess | undefined;
let next: HubProcess | undefined;

beforeAll(async () => {
  pki = await createTestPki();
  first = await startHubProcess({ VITALGATE_DATA_DIR: pki.dataDir });
}, 90_000);
afterAll(async () => {
  await first?.stop();
  await next?.stop();
  pki?.cleanup();
});

/** Names and sizes of the files under `dir`, recursively. */
function tree(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path.slice(dir.length + 1)] = statSync(path).size;
    }
  }
  return out;
}

const hubEnv = () => ({
  VITALGATE_DATA_DIR: pki.dataDir,
  VITALGATE_MQTT_PORT: '0',
  VITALGATE_API_PORT: '0',
  VITALGATE_INFLUX_PORT: '0',
  VITALGATE_LOG_LEVEL: 'warn',
});

describe('one hub per data dir', () => {
  it('a second start fails at once, naming the running hub’s pid, and touches nothing', async () => {
    const hub = first!;
    const stateFile = join(pki.dataDir, 'hub.json');
    const state = readFileSync(stateFile, 'utf8');
    const spool = tree(join(pki.dataDir, 'spool'));
    const influx = new InfluxClient({ url: hub.ready.influxUrl, database: 'x' });
    expect(await influx.ping()).toBe(true);

    // Were it to start, it would run until killed: it is, when the test ends.
    const abort = new AbortController();
    onTestFinished(() => abort.abort());
    const second = await runCli(['start', '--json'], hubEnv(), abort.signal);
    expect(second.code).toBe(1);
    expect(second.stdout).toBe('');
    expect(second.stderr.trim().split('\n')).toEqual([
      `vitalgate start: the data dir ${pki.dataDir} is in use by another hub (pid ${hub.child.pid}); one hub per data dir`,
    ]);

    // The first hub is untouched: still running, its InfluxDB up, hub.json and the spool as they were.
    expect(hub.child.exitCode).toBeNull();
    expect(await influx.ping()).toBe(true);
    expect(readFileSync(stateFile, 'utf8')).toBe(state);
    expect(tree(join(pki.dataDir, 'spool'))).toEqual(spool);
    expect(pki.store.audit.list({ action: 'hub.start' })).toHaveLength(1);
  }, 60_000);

  it('CLI commands keep working beside the running hub', async () => {
    const added = await runCli(['patient', 'add', '--name', 'Lock Test', '--birth-date', '1990-01-01'], {
      VITALGATE_DATA_DIR: pki.dataDir,
    });
    expect(added.code, added.stderr).toBe(0);
    const listed = await runCli(['device', 'list', '--json'], { VITALGATE_DATA_DIR: pki.dataDir });
    expect(listed.code, listed.stderr).toBe(0);
    const checked = await runCli(['check', '--json'], { VITALGATE_DATA_DIR: pki.dataDir });
    const report = JSON.parse(checked.stdout) as {
      results: { id: string; status: string; evidence: string }[];
    };
    expect(report.results.find((r) => r.id === 'VG-DATA-007')).toMatchObject({
      status: 'pass',
      evidence: `the running hub (pid ${first!.child.pid}) holds the lock on ${pki.dataDir}`,
    });
  }, 60_000);

  it('a hub killed with SIGKILL leaves no stale lock: the next start takes the data dir', async () => {
    const hub = first!;
    const exited = new Promise((resolve) => hub.child.once('exit', resolve));
    hub.child.kill('SIGKILL');
    await exited;
    first = undefined;
    next = await startHubProcess({ VITALGATE_DATA_DIR: pki.dataDir });
    expect(next.ready).toMatchObject({ ready: true });
    const checked = await runCli(['check', '--json'], { VITALGATE_DATA_DIR: pki.dataDir });
    const report = JSON.parse(checked.stdout) as { results: { id: string; status: string }[] };
    expect(report.results.find((r) => r.id === 'VG-DATA-007')?.status).toBe('pass');
    expect(await next.stop()).toBe(0);
    next = undefined;
  }, 90_000);
});
