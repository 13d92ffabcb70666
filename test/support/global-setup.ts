// One InfluxDB for the whole test run (see test/support/influx.ts): its URL reaches the tests
// through provide/inject as `influxUrl`. At teardown every influxd under the run's scratch dir
// (`influxScratchDir`) is stopped and the dir removed.
//
// The run also gets a temp dir of its own: TMPDIR points into it for the test workers and every
// process they start (os.tmpdir() reads it), so whatever is left there at teardown was left by
// this run, not by another one running beside it. Every test removes what it creates; a run that
// leaves anything fails here, naming what it left.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { provisionInflux } from './influx.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const previousTmp = process.env.TMPDIR;
  const runTemp = mkdtempSync(join(tmpdir(), 'vitalgate-test-run-'));
  process.env.TMPDIR = runTemp;
  // The web console the browser tests load, built once for the run (test files run in parallel).
  execFileSync(process.execPath, [join(import.meta.dirname, '..', '..', 'scripts', 'build-console.mjs')], {
    stdio: 'pipe',
  });
  const influx = await provisionInflux();
  project.provide('influxUrl', influx.url);
  project.provide('influxScratchDir', influx.scratchDir);
  return async () => {
    await influx.stop();
    // tsx (which bin/ uses from a checkout) keeps its compile cache in the temp dir: a tool's
    // cache, not a test's leftover.
    const left = readdirSync(runTemp).filter((name) => !/^tsx-\d+$/.test(name));
    rmSync(runTemp, { recursive: true, force: true, maxRetries: 3 });
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    if (left.length > 0) {
      // vitest reports an error thrown here but still exits 0: fail the run explicitly.
      process.exitCode = 1;
      throw new Error(
        `the tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temp dir: ${left.sort().join(', ')} (every test removes what it creates)`,
      );
    }
  };
}
