// One InfluxDB for the whole test run (see test/support/influx.ts): its URL reaches the tests
// through provide/inject as `influxUrl`; a local influxd is stopped and its temp dir removed at
// teardown.
import type { TestProject } from 'vitest/node';
import { provisionInflux } from './influx.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const influx = await provisionInflux();
  project.provide('influxUrl', influx.url);
  return () => influx.stop();
}
