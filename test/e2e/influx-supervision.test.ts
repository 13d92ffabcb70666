// The managed InfluxDB is supervised (issue 22, item 4). A real `vitalgate start` with its
// managed influxd; devices publish over mutual TLS while the influxd is killed with SIGKILL.
// While it is down, /readyz and telemetry and FHIR reads answer a coded 503 at once; the hub
// starts it again by itself (an `influxdb_down` and an `influxdb_restarted` security event), the
// spool drains, every acknowledged reading is in InfluxDB exactly once, and /readyz is ready
// again, all without restarting the hub. An influxd that stops answering (SIGSTOP) is killed and
// restarted the same way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import otplib from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { INFLUXDB_DOWN, INFLUXDB_RESTARTED } from '../../hub/influx-supervisor.js';
import { ApiClient } from '../integration/api/harness.js';
import { connectDevice } from '../support/broker.js';
import { runCli } from '../support/cli.js';
import { createTestPki, type DeviceCredentials, type TestPki } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { addPatient } from '../support/ingest.js';

const DEVICES = 4;
const RESTART_DELAY_MS = 3_000;
let pki: TestPki;
let hub: HubProcess | undefined;
let patientId: string;
const devices: DeviceCredentials[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  patientId = addPatient(pki);
  for (let i = 0; i < DEVICES; i++)
    devices.push(await pki.issueDevice(`sup-${i}`, 'wearable', { patientId }));
  hub = await startHubProcess({
    VITALGATE_DATA_DIR: pki.dataDir,
    VITALGATE_INFLUX_RESTART_DELAY_MS: String(RESTART_DELAY_MS),
    // The devices publish back to back, as fast as acknowledgements come: far above the default
    // per-device rate, which would end their sessions as a flood (and leave a publish unanswered).
    VITALGATE_DEVICE_MESSAGES_PER_SECOND: '100000',
  });
}, 90_000);

afterAll(async () => {
  await hub?.stop();
  pki?.cleanup();
});

function message(seq: number): string {
  return JSON.stringify({
    v: 1,
    seq,
    ts: Date.now() - 30_000,
    readings: [{ type: 'steps', value: seq, unit: '{steps}' }],
  });
}

/** A clinician assigned to the patient, signed in through the API (password change, TOTP). */
async function clinician(client: ApiClient): Promise<string> {
  const env = { VITALGATE_DATA_DIR: pki.dataDir };
  const added = await runCli(['user', 'add', '--username', 'dr.sup', '--role', 'clinician', '--json'], env);
  const { oneTimePassword } = JSON.parse(added.stdout) as { oneTimePassword: string };
  expect((await runCli(['patient', 'assign', patientId, '--user', 'dr.sup'], env)).code).toBe(0);
  const step = await client.request('POST', '/api/v1/auth/login', {
    body: { username: 'dr.sup', password: oneTimePassword },
  });
  const enroll = await client.request('POST', '/api/v1/auth/login/password', {
    body: {
      challengeId: (step.body as { challengeId: string }).challengeId,
      newPassword: 'correct horse battery staple 42',
    },
  });
  const { challengeId, totp } = enroll.body as { challengeId: string; totp: { secret: string } };
  const mfa = await client.request('POST', '/api/v1/auth/mfa', {
    body: { challengeId, code: otplib.authenticator.generate(totp.secret) },
  });
  expect(mfa.status, mfa.text).toBe(200);
  return (mfa.body as { token: string }).token;
}

async function until<T>(
  probe: () => Promise<T> | T,
  done: (v: T) => boolean,
  what: string,
  tries = 300,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await probe();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('the managed InfluxDB killed with SIGKILL while devices publish', () => {
  it('is restarted by the hub; reads answer 503 meanwhile; every acknowledged reading is stored', async () => {
    const client = new ApiClient(hub!.ready.apiPort!, pki.authority.caBundlePem());
    const token = await clinician(client);
    const influxPid = Number(readFileSync(join(pki.dataDir, 'influxdb', 'influxd.pid'), 'utf8'));
    const sent = devices.map(() => 0);
    const acked = devices.map(() => 0);
    let stop = false;
    const clients: MqttClient[] = [];
    const publishing = Promise.all(
      devices.map(async (dev, i) => {
        const c = await connectDevice(hub!.ready.mqttPort, dev, dev.deviceId);
        clients.push(c);
        while (!stop) {
          sent[i] = sent[i]! + 1;
          await c.publishAsync(`devices/${dev.deviceId}/telemetry`, message(sent[i]!), { qos: 1 });
          acked[i] = sent[i]!;
        }
      }),
    );
    const total = () => acked.reduce((a, b) => a + b, 0);
    try {
      await until(total, (n) => n >= 40, 'acknowledged messages before the kill');
      process.kill(influxPid, 'SIGKILL');
      await until(
        () => pki.store.securityEvents.list({ kind: INFLUXDB_DOWN }),
        (e) => e.length === 1,
        'the influxdb_down event',
      );
      const ackedAtOutage = total();

      // Down: coded 503s, at once (the restart waits RESTART_DELAY_MS first).
      const ready = await client.request('GET', '/readyz');
      expect(ready.status).toBe(503);
      for (const path of [
        `/api/v1/patients/${patientId}/telemetry?type=steps&from=${Date.now() - 3_600_000}&to=${Date.now()}`,
        `/api/v1/patients/${patientId}/observations`,
      ]) {
        const read = await client.request('GET', path, { token });
        expect(read.status, `${path} ${read.text}`).toBe(503);
        expect(read.body).toMatchObject({ error: { code: 'TELEMETRY_UNAVAILABLE' } });
      }
      expect(pki.store.securityEvents.list({ kind: INFLUXDB_RESTARTED })).toEqual([]);
      // Devices are still acknowledged meanwhile: the spool holds their readings.
      await until(total, (n) => n >= ackedAtOutage + 20, 'acknowledgements while InfluxDB is down');

      // Back, by itself.
      await until(
        () => pki.store.securityEvents.list({ kind: INFLUXDB_RESTARTED }),
        (e) => e.length === 1,
        'the influxdb_restarted event',
      );
      await until(
        () => client.request('GET', '/readyz'),
        (r) => r.status === 200,
        '/readyz ready again',
      );
      const newPid = Number(readFileSync(join(pki.dataDir, 'influxdb', 'influxd.pid'), 'utf8'));
      expect(newPid).not.toBe(influxPid);
      await until(total, (n) => n >= ackedAtOutage + 60, 'acknowledgements after the restart');
    } finally {
      stop = true;
      await publishing;
      await Promise.all(clients.map((c) => c.endAsync()));
    }

    // Every message sent was acknowledged (the loops ended on an ack), and each is stored once.
    expect(acked).toEqual(sent);
    const influx = new InfluxClient({ url: hub!.ready.influxUrl, database: 'vitalgate' });
    const counts = await until(
      () => influx.query("SELECT count(c) FROM telemetry WHERE t = 'steps' GROUP BY d").catch(() => []),
      (series) =>
        devices.every(
          (d, i) => Number(series.find((s) => s.tags.d === d.deviceId)?.rows[0]?.count) >= sent[i]!,
        ),
      'every acknowledged reading in InfluxDB',
    );
    for (const [i, dev] of devices.entries()) {
      expect(Number(counts.find((s) => s.tags.d === dev.deviceId)?.rows[0]?.count)).toBe(sent[i]);
    }
    const telemetry = await client.request(
      'GET',
      `/api/v1/patients/${patientId}/telemetry?type=steps&from=${Date.now() - 3_600_000}&to=${Date.now()}`,
      { token },
    );
    expect(telemetry.status, telemetry.text).toBe(200);
  }, 120_000);

  it('kills and restarts an influxd that stops answering', async () => {
    const pidFile = join(pki.dataDir, 'influxdb', 'influxd.pid');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const restarts = pki.store.securityEvents.list({ kind: INFLUXDB_RESTARTED }).length;
    process.kill(pid, 'SIGSTOP');
    try {
      // Three pings in a row go unanswered (5 s each), then it is killed and started again.
      const down = await until(
        () => pki.store.securityEvents.list({ kind: INFLUXDB_DOWN }),
        (e) => e.some((x) => x.details?.reason === 'not_answering'),
        'the influxdb_down event of a hung influxd',
        600,
      );
      expect(down[0]).toMatchObject({ severity: 'high', details: { reason: 'not_answering' } });
      await until(
        () => pki.store.securityEvents.list({ kind: INFLUXDB_RESTARTED }),
        (e) => e.length === restarts + 1,
        'the influxdb_restarted event',
      );
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // killed by the hub, as it should be
      }
    }
    expect(Number(readFileSync(pidFile, 'utf8'))).not.toBe(pid);
    const client = new ApiClient(hub!.ready.apiPort!, pki.authority.caBundlePem());
    await until(
      () => client.request('GET', '/readyz'),
      (r) => r.status === 200,
      '/readyz ready again',
    );
  }, 120_000);
});
