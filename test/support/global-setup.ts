// One InfluxDB for the whole test run (see test/support/influx.ts): its URL reaches the tests
// through provide/inject as `influxUrl`. At teardown every influxd under the run's scratch dir
// (`influxScratchDir`) is stopped and the dir removed.
import type { TestProject } from 'vitest/node';
import { provisionInflux } from './influx.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const influx = await provisionInflux();
  project.provide('influxUrl', influx.url);
  project.provide('influxScratchDir', influx.scratchDir);
  return () => influx.stop();
}
