// Data checks against a real InfluxDB with real sealed telemetry, and the same database broken
// in exactly the way each check looks for.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckContext, DeploymentCheck } from '../../../hub/checks/check.js';
import * as data from '../../../hub/checks/data.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { addPatient, envelope, openPipeline } from '../../support/ingest.js';
import { testInflux, type TestInflux } from '../../support/influx.js';
import { checkContext } from '../../support/checks.js';

let pki: TestPki;
let influx: TestInflux;

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  const patientId = addPatient(pki);
  const { pipeline } = openPipeline(pki, influx);
  pipeline.start();
  pki.store.devices.add({ id: 'ox-d', kind: 'pulse_oximeter', patientId });
  for (let seq = 1; seq <= 5; seq++) {
    await pipeline.accept(
      { deviceId: 'ox-d', kind: 'pulse_oximeter', patientId },
      envelope(seq, [{ type: 'spo2', value: 97, unit: '%' }]),
    );
  }
  await pipeline.writer.drained();
  await pipeline.stop();
});
afterAll(async () => {
  await influx.drop();
  pki.cleanup();
});

const ctx = (overrides: Partial<CheckContext> = {}): CheckContext =>
  checkContext(pki, { influx: influx.client, ...overrides });
const run = (check: DeploymentCheck, c = ctx()) => Promise.resolve(check.run(c));

describe('data checks', () => {
  it('VG-DATA-001 passes on sealed telemetry and fails once a plaintext point is written', async () => {
    expect(await run(data.telemetryEncrypted)).toMatchObject({
      status: 'pass',
      evidence: expect.stringContaining('5 sampled points'),
    });
    // Rollups: the first layout's points are still accepted; a block that is not sealed is not.
    const sealedLooking = 'A'.repeat(40);
    await influx.client.writeLines([
      `telemetry_1m,s=abc,d=ox-d,t=spo2 c="${sealedLooking}",k=1i ${Date.now()}`,
    ]);
    expect(await run(data.telemetryEncrypted)).toMatchObject({ status: 'pass' });
    const at = Date.now();
    await influx.client.writeLines([
      `telemetry_minutes,s=abc,d=ox-d c="${sealedLooking}",k=1i,r="spo2 97" ${at}`,
    ]);
    expect(await run(data.telemetryEncrypted)).toMatchObject({
      status: 'fail',
      evidence: expect.stringMatching(/^1 of \d+ sampled points are not sealed/),
    });
    await influx.client.query(`DELETE FROM telemetry_minutes WHERE time = ${at}ms`);
    expect(await run(data.telemetryEncrypted)).toMatchObject({ status: 'pass' });
    await influx.client.writeLines([`telemetry,s=abc,d=ox-d,t=spo2 value=97 ${Date.now()}`]);
    expect(await run(data.telemetryEncrypted)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('telemetry.value'),
    });
    expect((await run(data.telemetryEncrypted, ctx({ influx: undefined }))).status).toBe('not_applicable');
  });

  it('VG-DATA-002 passes with the writer’s 90-day policy and fails on an infinite one', async () => {
    expect(await run(data.retentionPolicy)).toMatchObject({
      status: 'pass',
      evidence: expect.stringContaining('2160h'),
    });
    await influx.client.ensureRetentionPolicy('forever', 0, { default: true });
    expect((await run(data.retentionPolicy)).status).toBe('fail');
  });

  it('VG-DATA-003 fails for a remote InfluxDB over plain HTTP without credentials', async () => {
    expect((await run(data.influxLinkProtected)).status).toBe('pass');
    const remote = ctx({ config: { ...pki.config, influxUrl: 'http://influx.example.org:8086' } });
    expect(await run(data.influxLinkProtected, remote)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('not HTTPS, no credentials'),
    });
    const ok = ctx({
      config: { ...pki.config, influxUrl: 'https://influx.example.org:8086', influxUsername: 'hub' },
    });
    expect((await run(data.influxLinkProtected, ok)).status).toBe('pass');
  });

  it('VG-DATA-004 warns on a backed-up spool and fails after it filled up', async () => {
    expect((await run(data.spoolHealthy)).status).toBe('pass');
    mkdirSync(join(pki.dataDir, 'spool'), { recursive: true });
    writeFileSync(join(pki.dataDir, 'spool', 'segment-000000000099.log'), Buffer.alloc(4096));
    expect(
      (await run(data.spoolHealthy, ctx({ config: { ...pki.config, spoolQuotaBytes: 6000 } }))).status,
    ).toBe('warn');
    pki.store.securityEvents.add({ kind: 'spool_full', severity: 'critical' });
    expect((await run(data.spoolHealthy)).status).toBe('fail');
  });

  it('VG-DATA-005 warns when dead letters pile up', async () => {
    expect((await run(data.deadLetterRate)).status).toBe('pass');
    for (let i = 0; i < 100; i++) {
      pki.store.deadLetters.add({
        deviceId: 'ox-d',
        reason: 'MALFORMED_JSON',
        detail: 'x',
        receivedAt: Date.now(),
        keySubject: 'quarantine',
        keyVersion: 1,
        sealedPayload: Buffer.from('x'),
      });
    }
    expect(await run(data.deadLetterRate)).toMatchObject({
      status: 'warn',
      evidence: '100 dead letters in 24 h',
    });
  });
});
