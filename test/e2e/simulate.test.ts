// The simulators against `vitalgate start` as an operator runs it (a child process with managed
// InfluxDB): `vitalgate simulate` itself; 50 mixed devices for 30 s with the hub killed and
// restarted mid-run (every acknowledged reading in InfluxDB exactly once, none lost, none
// duplicated); and a fleet enrolled through the API by an admin, one of whose devices is wiped
// through the API (key and buffer gone, certificate revoked, no way back in).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxClient } from '../../core/influx.js';
import { DeviceRegistry } from '../../dashboard-api/services/device-registry.js';
import { openConnection, type ConnectFailure } from '../../simulators/device-connection.js';
import { HttpsEnrollment } from '../../simulators/enrollment-transport.js';
import { Fleet, fleetStateDir } from '../../simulators/fleet.js';
import { ApiProvisioner } from '../../simulators/fleet-provisioning.js';
import type { FleetSummary } from '../../simulators/fleet-summary.js';
import type { GatewayFleetSummary } from '../../simulators/gateway-fleet.js';
import { HubApi } from '../../simulators/hub-api.js';
import { CombinedReadback, MetricsReadback, growthBy } from '../../simulators/hub-readback.js';
import { LocalHubProvisioner } from '../../simulators/local-hub.js';
import otplib from 'otplib';
import { runCli } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { tempDir } from '../integration/simulators/harness.js';

let pki: TestPki;
let hub: HubProcess;
let state: { dir: string; cleanup(): void };
const operator = {
  username: 'sim.admin',
  password: 'correct horse battery staple 42',
  totpSecret: '',
  token: '',
};

const api = () =>
  new HubApi({ baseUrl: `https://localhost:${hub.ready.apiPort}`, ca: pki.authority.caBundlePem() });

async function storedByDevice(prefix: string): Promise<Map<string, number>> {
  const influx = new InfluxClient({ url: hub.ready.influxUrl, database: 'vitalgate' });
  const series = await influx
    .query(`SELECT count(c) FROM telemetry WHERE d =~ /^${prefix}-/ GROUP BY d`)
    .catch(() => []);
  return new Map(series.map((s) => [s.tags.d!, Number(s.rows[0]?.count ?? 0)]));
}

/** First login of an admin through the API: new password, TOTP enrollment, a session. */
async function firstLogin(): Promise<void> {
  const added = await runCli(['user', 'add', '--username', operator.username, '--role', 'admin', '--json'], {
    VITALGATE_DATA_DIR: pki.dataDir,
  });
  const { oneTimePassword } = JSON.parse(added.stdout) as { oneTimePassword: string };
  const step = await api().json<{ challengeId: string }>('POST', '/api/v1/auth/login', {
    body: { username: operator.username, password: oneTimePassword },
  });
  const enroll = await api().json<{ challengeId: string; totp: { secret: string } }>(
    'POST',
    '/api/v1/auth/login/password',
    { body: { challengeId: step.challengeId, newPassword: operator.password } },
  );
  operator.totpSecret = enroll.totp.secret;
  const session = await api().json<{ token: string }>('POST', '/api/v1/auth/mfa', {
    body: { challengeId: enroll.challengeId, code: otplib.authenticator.generate(operator.totpSecret) },
  });
  operator.token = session.token;
  // Wiping a patient's device needs a fresh second factor: the next TOTP step's code.
  await api().json('POST', '/api/v1/auth/step-up', {
    token: operator.token,
    body: { code: otplib.authenticator.clone({ epoch: Date.now() + 30_000 }).generate(operator.totpSecret) },
  });
}

beforeAll(async () => {
  pki = await createTestPki();
  state = tempDir();
  hub = await startHubProcess({ VITALGATE_DATA_DIR: pki.dataDir });
  await firstLogin();
}, 90_000);

afterAll(async () => {
  await hub?.stop();
  pki?.cleanup();
  state?.cleanup();
});

describe('vitalgate simulate', () => {
  it('runs a small fleet on the hub of the data dir and prints a JSON summary', async () => {
    const result = await runCli(
      ['simulate', '--devices', '6', '--duration', '4', '--prefix', 'cli', '--state', state.dir, '--json'],
      { VITALGATE_DATA_DIR: pki.dataDir },
    );
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as FleetSummary;
    expect(summary.devices).toMatchObject({ planned: 6, enrolled: 6, failed: [] });
    expect(summary.readings.acked).toBeGreaterThan(0);
    expect(summary.readings.acked).toBe(summary.readings.sent);
    expect(summary.hub?.readingsAccepted).toBe(summary.readings.acked);
    expect(summary.latencyMs).toMatchObject({ count: summary.messages.acked });
    let stored = 0;
    for (let i = 0; i < 50 && stored < summary.readings.acked; i++) {
      await new Promise((r) => setTimeout(r, 100));
      stored = [...(await storedByDevice('cli')).values()].reduce((a, b) => a + b, 0);
    }
    expect(stored).toBe(summary.readings.acked);
  }, 60_000);

  it('runs gateways with Bluetooth devices behind them; each gateway fault is refused as the spec says', async () => {
    const result = await runCli(
      [
        ...['simulate', '--gateways', '2', '--devices-per-gateway', '4', '--duration', '2'],
        ...['--measure-every', '1', '--fault', 'all', '--prefix', 'gwsim', '--json'],
      ],
      { VITALGATE_DATA_DIR: pki.dataDir },
    );
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as GatewayFleetSummary;
    expect(summary).toMatchObject({ gateways: 2, devices: 8 });
    expect(summary.manual).toBeGreaterThan(0);
    expect(summary.faults.map((f) => [f.fault, f.observed])).toEqual([
      ['gateway-unbound-device', 'DEVICE_NOT_BOUND'],
      ['gateway-spoofed-identity', 'DEVICE_IDENTITY_MISMATCH'],
      ['gateway-replay', 'DEVICE_BOUND_ELSEWHERE'],
    ]);
    const influx = new InfluxClient({ url: hub.ready.influxUrl, database: 'vitalgate' });
    let byModality = new Map<string, number>();
    for (let i = 0; i < 50; i++) {
      const series = await influx
        .query(`SELECT count(c) FROM telemetry WHERE d =~ /^gwsim-/ GROUP BY modality`)
        .catch(() => []);
      byModality = new Map(series.map((s) => [s.tags.modality ?? '', Number(s.rows[0]?.count ?? 0)]));
      if ((byModality.get('sensed') ?? 0) + (byModality.get('manual') ?? 0) >= summary.published) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(byModality.get('manual')).toBe(summary.manual);
    expect(byModality.get('sensed')).toBe(summary.published - summary.manual);
  }, 60_000);

  it('answers a wrong option with one line and exit 2', async () => {
    const result = await runCli(['simulate', '--scenario', 'plague'], { VITALGATE_DATA_DIR: pki.dataDir });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/unknown scenario "plague"/);
  });
});

describe('50 mixed devices for 30 s, the hub killed and restarted mid-run', () => {
  let summary: FleetSummary;
  let fleet: Fleet;
  const reconnectedAt: number[] = [];
  let bufferedWhileDown = 0;

  beforeAll(async () => {
    const hubApi = api();
    const provisioner = new LocalHubProvisioner({
      config: { enrollmentTokenTtlHours: 1 },
      store: pki.store,
      keyring: pki.keyring,
      registrar: new DeviceRegistry(pki.store, pki.tokens, { enrollmentTokenTtlHours: 1 }, undefined),
      authority: async () => pki.authority,
      actor: 'test',
    });
    const ports = { mqtt: hub.ready.mqttPort, api: hub.ready.apiPort! };
    fleet = await Fleet.prepare({
      devices: 50,
      kinds: ['wearable', 'pulse_oximeter', 'bp_monitor', 'glucometer', 'weight_scale', 'thermometer'],
      rateHz: 1,
      durationS: 30,
      prefix: 'e2e',
      stateDir: fleetStateDir(state.dir, pki.authority.caBundlePem()),
      provisioner,
      enrollment: (localAddress) => new HttpsEnrollment(hubApi.from(localAddress)),
      broker: { host: 'localhost', port: ports.mqtt },
      readback: new CombinedReadback(new MetricsReadback(hubApi), provisioner.records),
      backoff: { initialMs: 500, maxMs: 4_000 },
    });
    fleet.start();
    await new Promise((r) => setTimeout(r, 10_000));
    hub.child.kill('SIGKILL');
    await hub.stop();
    const killedAt = Date.now();
    for (const device of fleet.devices) device.on('online', () => reconnectedAt.push(Date.now() - killedAt));
    await new Promise((r) => setTimeout(r, 4_000));
    bufferedWhileDown = fleet.progress().buffered;
    hub = await startHubProcess({
      VITALGATE_DATA_DIR: pki.dataDir,
      VITALGATE_MQTT_PORT: String(ports.mqtt),
      VITALGATE_API_PORT: String(ports.api),
    });
    await fleet.finished;
    summary = await fleet.stop();
  }, 150_000);

  it('buffers while the hub is down and reconnects with jittered backoff', () => {
    expect(bufferedWhileDown).toBeGreaterThan(50);
    expect(summary.messages.bufferedPeak).toBeGreaterThanOrEqual(bufferedWhileDown);
    expect(reconnectedAt.length).toBeGreaterThanOrEqual(50);
    // Not in one stampede: the reconnects spread over the backoff window.
    const sorted = [...reconnectedAt].sort((a, b) => a - b);
    expect(sorted.at(-1)! - sorted[0]!).toBeGreaterThan(500);
    for (const device of fleet.devices)
      expect(device.counters.connectAttempts).toBeGreaterThan(device.counters.connects);
  });

  it('forwards everything: acked equals sent, nothing left in the outboxes', () => {
    expect(summary.devices).toMatchObject({ planned: 50, enrolled: 50, failed: [] });
    expect(summary.messages.buffered).toBe(0);
    expect(summary.messages.dropped).toBe(0);
    expect(summary.readings.acked).toBe(summary.readings.sent);
    expect(summary.readings.acked).toBeGreaterThan(1_000);
  });

  it('stores in InfluxDB exactly the acknowledged readings, per device: none lost, none twice', async () => {
    let stored = new Map<string, number>();
    const total = () => [...stored.values()].reduce((a, b) => a + b, 0);
    for (let i = 0; i < 100 && total() < summary.readings.acked; i++) {
      await new Promise((r) => setTimeout(r, 200));
      stored = await storedByDevice('e2e');
    }
    expect(total()).toBe(summary.readings.acked);
    for (const device of fleet.devices) {
      expect(stored.get(device.deviceId) ?? 0, device.deviceId).toBe(device.counters.ackedReadings);
    }
  });
});

describe('a fleet enrolled through the API by an admin', () => {
  it('enrolls, streams, and a wipe through the API reaches a device: key and buffer gone, revoked, locked out', async () => {
    const hubApi = api();
    const provisioner = await ApiProvisioner.login(hubApi, operator);
    const fleet = await Fleet.prepare({
      devices: 3,
      kinds: ['wearable', 'pulse_oximeter', 'thermometer'],
      rateHz: 2,
      prefix: 'api',
      stateDir: fleetStateDir(state.dir, pki.authority.caBundlePem()),
      provisioner,
      enrollment: (localAddress) => new HttpsEnrollment(hubApi.from(localAddress)),
      readback: new CombinedReadback(new MetricsReadback(hubApi), provisioner.records),
    });
    fleet.start();
    const victim = fleet.devices.find((d) => d.kind === 'pulse_oximeter')!;
    const creds = victim.credentials!;
    const dir = join(fleetStateDir(state.dir, pki.authority.caBundlePem()), 'devices', victim.deviceId);
    for (let i = 0; i < 100 && victim.counters.acked < 3; i++) await new Promise((r) => setTimeout(r, 100));
    expect(victim.counters.acked).toBeGreaterThanOrEqual(3);
    expect(pki.store.devices.require(victim.deviceId).patientId).toMatch(/^pat_/);

    const wiped = new Promise<void>((resolve) => victim.once('wiped', () => resolve()));
    const before = await new MetricsReadback(hubApi).metrics();
    const result = await hubApi.json<{ status: string; revokedSerials: string[] }>(
      'POST',
      `/api/v1/devices/${victim.deviceId}/wipe`,
      { token: operator.token, body: { reason: 'returned by the patient' } },
    );
    await wiped;
    expect(result).toMatchObject({ status: 'wiped', revokedSerials: [creds.serial] });
    expect(existsSync(join(dir, 'key.pem'))).toBe(false);
    expect(existsSync(join(dir, 'cert.pem'))).toBe(false);
    expect(existsSync(join(dir, 'outbox'))).toBe(false);
    expect(
      pki.store.audit.list({ action: 'device.wipe', target: `device:${victim.deviceId}` })[0]?.details,
    ).toMatchObject({
      wipe: 'acked',
    });

    const again = await openConnection(
      { host: 'localhost', port: hub.ready.mqttPort },
      { deviceId: victim.deviceId, ...creds },
    ).then(
      (client) => {
        client.end(true);
        return undefined;
      },
      (failure: ConnectFailure) => failure,
    );
    expect(again).toMatchObject({ refused: true });
    await new Promise((r) => setTimeout(r, 500));
    const refusals = growthBy(
      before!,
      (await new MetricsReadback(hubApi).metrics())!,
      'vitalgate_mqtt_connection_refusals_total',
      'reason',
    );
    expect(
      Object.keys(refusals).some((code) => ['CERTIFICATE_REVOKED', 'DEVICE_NOT_ACTIVE'].includes(code)),
    ).toBe(true);

    const summary = await fleet.stop();
    expect(summary.devices).toMatchObject({ enrolled: 3, wiped: 1 });
    expect(summary.commands.done).toBe(1);
    // The others kept streaming, and drained at the end.
    const others = fleet.devices.filter((d) => d !== victim);
    expect(others.map((d) => d.buffered)).toEqual([0, 0]);
    expect(others.find((d) => d.kind === 'wearable')!.counters.acked).toBeGreaterThan(0);
  }, 90_000);
});
