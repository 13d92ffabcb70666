// `vitalgate start` end to end: a real hub process with managed InfluxDB, a device over mutual
// TLS, and lifecycle changes made from another process (the CLI) reaching the live session.
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { connectDevice, publishQos1 } from '../support/broker.js';
import { runCli } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';

function httpsGet(port: number, path: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let pki: TestPki;
let hub: HubProcess;

beforeAll(async () => {
  pki = await createTestPki();
  hub = await startHubProcess({ VITALGATE_DATA_DIR: pki.dataDir });
}, 90_000);
afterAll(async () => {
  await hub?.stop();
  pki?.cleanup();
});

describe('vitalgate start', () => {
  it('reports its ports and runs the managed InfluxDB', async () => {
    expect(hub.ready).toMatchObject({ ready: true, mqttPort: expect.any(Number) });
    expect(await new InfluxClient({ url: hub.ready.influxUrl, database: 'x' }).ping()).toBe(true);
    expect(existsSync(join(pki.dataDir, 'hub.json'))).toBe(true);
  });

  it('serves the HTTPS API with the hub certificate: health, readiness, OpenAPI', async () => {
    expect(hub.ready.apiPort).toEqual(expect.any(Number));
    const health = await httpsGet(hub.ready.apiPort!, '/healthz', pki.authority.caBundlePem());
    expect(health.status).toBe(200);
    const ready = await httpsGet(hub.ready.apiPort!, '/readyz', pki.authority.caBundlePem());
    expect(ready.status).toBe(200);
    const unauthorized = await httpsGet(hub.ready.apiPort!, '/api/v1/patients', pki.authority.caBundlePem());
    expect(unauthorized.status).toBe(401);
    expect(JSON.parse(unauthorized.body)).toMatchObject({ error: { code: expect.any(String) } });
  });

  it('accepts an enrolled device over mutual TLS', async () => {
    const dev = await pki.issueDevice('wear-e2e', 'wearable');
    const client = await connectDevice(hub.ready.mqttPort, dev, 'wear-e2e');
    await publishQos1(
      client,
      'devices/wear-e2e/status',
      JSON.stringify({ v: 1, firmware: '1.4.2', battery: 0.8, uptimeS: 60 }),
    );
    const reading = {
      v: 1,
      seq: 1,
      ts: Date.now(),
      readings: [{ type: 'heart_rate', value: 72, unit: '/min' }],
    };
    await publishQos1(client, 'devices/wear-e2e/telemetry', JSON.stringify(reading));
    await client.endAsync();
    const influx = new InfluxClient({ url: hub.ready.influxUrl, database: 'vitalgate' });
    let stored = 0;
    for (let i = 0; i < 50 && stored === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const [series] = await influx.query('SELECT count(c) FROM telemetry').catch(() => []);
      stored = Number(series?.rows[0]?.count ?? 0);
    }
    expect(stored).toBe(1);
    expect(pki.store.devices.require('wear-e2e').firmware).toBe('1.4.2');
  });

  it('ends the live session within about a second when the CLI revokes the device', async () => {
    const dev = await pki.issueDevice('ox-e2e', 'pulse_oximeter');
    const client = await connectDevice(hub.ready.mqttPort, dev, 'ox-e2e');
    const closed = new Promise<number>((resolve) => client.once('close', () => resolve(performance.now())));
    const result = await runCli(['device', 'revoke', 'ox-e2e', '--reason', 'reported lost'], {
      VITALGATE_DATA_DIR: pki.dataDir,
    });
    const t0 = performance.now();
    expect(result.code).toBe(0);
    expect((await closed) - t0).toBeLessThan(1_500);
    client.end(true);
    await expect(connectDevice(hub.ready.mqttPort, dev, 'ox-e2e')).rejects.toThrow();
  });

  it('passes its own deployment checks while running, probed from another process', async () => {
    const result = await runCli(['check', '--json'], { VITALGATE_DATA_DIR: pki.dataDir });
    const report = JSON.parse(result.stdout) as {
      summary: Record<string, number>;
      results: { id: string; status: string; evidence: string }[];
    };
    const status = (id: string) => report.results.find((r) => r.id === id)?.status;
    // A fresh hub has never had a restore drill: VG-DATA-009 is the one finding it must report.
    expect(report.results.filter((r) => r.status === 'fail').map((r) => r.id)).toEqual(['VG-DATA-009']);
    expect(result.code).toBe(0);
    for (const id of [
      'VG-PKI-009',
      'VG-NET-001',
      'VG-NET-002',
      'VG-NET-003',
      'VG-NET-004',
      'VG-DATA-001',
      'VG-DATA-002',
      'VG-AUD-001',
      'VG-AUD-005', // the running hub enforced retention at start
      'VG-DATA-010', // its spool drained the device's reading
      'VG-API-006',
      'VG-API-007',
    ]) {
      expect(status(id), `${id}: ${report.results.find((r) => r.id === id)?.evidence}`).toBe('pass');
    }
  }, 60_000);

  it('stops gracefully on SIGTERM', async () => {
    const code = await hub.stop();
    expect(code).toBe(0);
    expect(existsSync(join(pki.dataDir, 'hub.json'))).toBe(false);
    expect(await new InfluxClient({ url: hub.ready.influxUrl, database: 'x' }).ping()).toBe(false);
    expect(pki.store.audit.list({ action: 'hub.stop' })).toHaveLength(1);
  });
});
