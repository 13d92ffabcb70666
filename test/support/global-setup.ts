// One InfluxDB for the whole test run (see test/support/influx.ts).
import type { TestProject } from 'vitest/node';
import { provisionInflux } from './influx.js';

export default async function setup(project: TestProject) {
  const influx = await provisionInflux();
  project.provide('influxUrl', influx.url);
  return () => influx.stop();
}
