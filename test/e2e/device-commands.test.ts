// Signed commands end to end, against `vitalgate start` as an operator runs it (a child process
// on a data dir), with simulated devices subscribed over mutual TLS: `vitalgate device wipe`,
// `disable`, `ping` and `config` from the CLI go through the running hub (queued in the control
// plane, sent signed, acked by the device, audited), the same routes from the API, a command that
// expires unanswered, and rotate-cert sent once per certificate when a certificate enters the
// renewal window, on which the device renews. Last, with the hub stopped, a CLI wipe changes
// nothing and says why.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { CertificateRotationRepository } from '../../core/store/certificate-rotations.js';
import { CertificateAuthority } from '../../pki/authority.js';
import { DeviceEnrollment } from '../../pki/enrollment.js';
import { DeviceClient } from '../../simulators/device-client.js';
import { closeConnection, openConnection, type ConnectFailure } from '../../simulators/device-connection.js';
import {
  HttpsEnrollment,
  InProcessEnrollment,
  type EnrollmentTransport,
} from '../../simulators/enrollment-transport.js';
import { HubApi } from '../../simulators/hub-api.js';
import { tempDir, until } from '../integration/simulators/harness.js';
import { runCli } from '../support/cli.js';
import { createTestPki, type TestPki } from '../support/hub-pki.js';
import { startHubProcess, type HubProcess } from '../support/hub-process.js';
import { firstAdminLogin } from '../support/operator.js';

let pki: TestPki;
let hub: HubProcess;
let root: { dir: string; cleanup(): void };
let token = '';
const devices: DeviceClient[] = [];
const clients: MqttClient[] = [];
const env = () => ({ VITALGATE_DATA_DIR: pki.dataDir });
const api = () =>
  new HubApi({ baseUrl: `https://localhost:${hub.ready.apiPort}`, ca: pki.authority.caBundlePem() });

/** Registers a device, gives it a token, and opens a simulated device that enrolls with it. */
async function simulatedDevice(
  deviceId: string,
  enrollment: EnrollmentTransport = new HttpsEnrollment(api()),
) {
  pki.store.devices.add({ id: deviceId, kind: 'pulse_oximeter', patientId: null });
  const device = await DeviceClient.open({
    deviceId,
    kind: 'pulse_oximeter',
    dir: join(root.dir, deviceId),
    enrollment,
    token: pki.tokens.issue(deviceId, 3_600_000, 'test').token,
    broker: { host: '127.0.0.1', port: hub.ready.mqttPort },
    backoff: { initialMs: 100, maxMs: 500, floorMs: 50 },
  });
  devices.push(device);
  return device;
}

async function online(device: DeviceClient): Promise<void> {
  const up = new Promise<void>((resolve) => device.once('online', () => resolve()));
  device.start();
  await up;
}

/** A device's commands as the simulated device reports them: [type, outcome]. */
function commandLog(device: DeviceClient): [string, string][] {
  const log: [string, string][] = [];
  device.on('command', (type, outcome) => log.push([type, outcome]));
  return log;
}

/**
 * An enrollment whose certificates last 2 days (inside the hub's 7-day renewal window), while
 * renewal goes to the hub's API (90-day certificates, outside it).
 */
async function shortLivedEnrollment(): Promise<EnrollmentTransport> {
  const config = { ...loadConfig({ env: env() }), deviceCertDays: 2 };
  const authority = await CertificateAuthority.load({ store: pki.store, keyring: pki.keyring, config });
  const inProcess = new InProcessEnrollment({
    enrollment: new DeviceEnrollment(pki.store, authority, pki.tokens, config),
    authority,
    mqtt: { host: '127.0.0.1', port: hub.ready.mqttPort },
  });
  const https = new HttpsEnrollment(api());
  return { enroll: (t, csr) => inProcess.enroll(t, csr), renew: (csr, current) => https.renew(csr, current) };
}

const audit = (action: string, deviceId: string) =>
  pki.store.audit.list({ action, target: `device:${deviceId}` });

beforeAll(async () => {
  pki = await createTestPki();
  root = tempDir('vg-cmd-');
  hub = await startHubProcess({ ...env(), VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS: '7' });
  token = await firstAdminLogin(api(), pki.dataDir, 'cmd.admin');
}, 90_000);

afterAll(async () => {
  for (const device of devices) await device.stop();
  for (const client of clients) client.end(true);
  await hub?.stop();
  pki?.cleanup();
  root?.cleanup();
});

describe('vitalgate device wipe, through the running hub', () => {
  it('sends the signed wipe, waits for the ack, then revokes: key, certificate and buffer gone, locked out', async () => {
    const device = await simulatedDevice('ox-wipe');
    await online(device);
    const creds = device.credentials!;
    const wiped = new Promise<void>((resolve) => device.once('wiped', () => resolve()));
    const result = await runCli(
      ['device', 'wipe', 'ox-wipe', '--reason', 'returned by the patient', '--json'],
      env(),
    );
    expect(result.code, result.stderr).toBe(0);
    await wiped;
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'wiped',
      wipe: 'acked',
      revokedSerials: [creds.serial],
    });
    for (const file of ['key.pem', 'cert.pem', 'outbox'])
      expect(existsSync(join(root.dir, 'ox-wipe', file))).toBe(false);
    expect(pki.store.devices.require('ox-wipe').status).toBe('wiped');
    expect(pki.store.certificates.get(creds.serial)?.status).toBe('revoked');
    const [command] = audit('command.wipe', 'ox-wipe');
    expect(command).toMatchObject({
      actor: expect.stringMatching(/^cli:/),
      outcome: 'success',
      details: { outcome: 'acked' },
    });
    expect(audit('device.wipe', 'ox-wipe')[0]).toMatchObject({
      actor: expect.stringMatching(/^cli:/),
      source: 'cli',
      details: { wipe: 'acked', reason: 'returned by the patient' },
    });
    const again = await openConnection(
      { host: '127.0.0.1', port: hub.ready.mqttPort },
      { deviceId: 'ox-wipe', ...creds },
    ).then(
      (client) => (client.end(true), undefined),
      (failure: ConnectFailure) => failure,
    );
    expect(again).toMatchObject({ refused: true });
  }, 60_000);
});

describe('vitalgate device disable, ping and config, through the running hub', () => {
  it('disable: the device hears it and acks before its session ends', async () => {
    const device = await simulatedDevice('ox-disable');
    await online(device);
    let disabledWhenOffline: boolean | undefined;
    device.once('offline', () => (disabledWhenOffline = device.disabled));
    const result = await runCli(
      ['device', 'disable', 'ox-disable', '--reason', 'under review', '--json'],
      env(),
    );
    expect(result.code, result.stderr).toBe(0);
    // The hub ends the session only after the device's ack (or 5 s): it acked.
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'disabled', disableCommand: 'acked' });
    await until(() => disabledWhenOffline !== undefined, 10_000, 'the session to end');
    expect(disabledWhenOffline).toBe(true);
    await device.stop();
    expect(audit('command.disable', 'ox-disable')[0]).toMatchObject({
      actor: expect.stringMatching(/^cli:/),
      outcome: 'success',
    });
    expect(audit('device.disable', 'ox-disable')[0]?.details).toMatchObject({ disableCommand: 'acked' });
  }, 30_000);

  it('ping and config are signed, verified by the device, acked and audited; a bad setting sends nothing', async () => {
    const device = await simulatedDevice('ox-ping');
    await online(device);
    const log = commandLog(device);
    const ping = await runCli(['device', 'ping', 'ox-ping', '--json'], env());
    expect(ping.code, ping.stderr).toBe(0);
    expect(JSON.parse(ping.stdout)).toMatchObject({ deviceId: 'ox-ping', type: 'ping', outcome: 'acked' });
    const config = await runCli(['device', 'config', 'ox-ping', '--set', 'statusIntervalS=60'], env());
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toContain('config to ox-ping: acked');
    await until(() => log.length === 2, 5_000, 'the device to report both commands');
    expect(log).toEqual([
      ['ping', 'done'],
      ['config', 'done'],
    ]);
    expect(audit('command.ping', 'ox-ping')[0]).toMatchObject({
      actor: expect.stringMatching(/^cli:/),
      outcome: 'success',
    });

    const bad = await runCli(['device', 'config', 'ox-ping', '--set', 'colour=3'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('unknown device setting "colour"');
    expect(audit('command.config', 'ox-ping')).toHaveLength(1);
    expect(log).toHaveLength(2);
  }, 30_000);
});

describe('ping and config from the API', () => {
  it('answers with the outcome, and a command nobody acks expires, audited as such', async () => {
    const device = await simulatedDevice('ox-api');
    await online(device);
    const log = commandLog(device);
    expect(await api().json('POST', '/api/v1/devices/ox-api/ping', { token, body: {} })).toMatchObject({
      type: 'ping',
      outcome: 'acked',
    });
    expect(
      await api().json('POST', '/api/v1/devices/ox-api/config', {
        token,
        body: { settings: { statusIntervalS: 120 } },
      }),
    ).toMatchObject({ type: 'config', outcome: 'acked' });
    // The hub has the ack before the device hears its PUBACK and reports the command.
    await until(() => log.length === 2, 5_000, 'the device to report both commands');
    expect(log).toEqual([
      ['ping', 'done'],
      ['config', 'done'],
    ]);
    const refused = await api().send('POST', '/api/v1/devices/ox-api/config', {
      token,
      body: { settings: { statusIntervalS: 1 } },
    });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { code: 'COMMAND_PARAMS_INVALID' } });
    expect(audit('command.config', 'ox-api')).toHaveLength(1);

    const docs = (await api().send('GET', '/docs/json')).json as { paths: Record<string, unknown> };
    for (const path of [
      '/api/v1/devices/{id}/ping',
      '/api/v1/devices/{id}/config',
      '/api/v1/patients/{id}/erase',
    ])
      expect(docs.paths).toHaveProperty([path]);

    // The device's own session, subscribed but never answering: the ping expires.
    const creds = device.credentials!;
    await device.stop();
    const silent = await openConnection(
      { host: '127.0.0.1', port: hub.ready.mqttPort },
      { deviceId: 'ox-api', ...creds },
    );
    clients.push(silent);
    await silent.subscribeAsync('devices/ox-api/commands', { qos: 1 });
    const received: string[] = [];
    silent.on('message', (_t, payload) =>
      received.push((JSON.parse(payload.toString()) as { type: string }).type),
    );
    expect(
      await api().json('POST', '/api/v1/devices/ox-api/ping', { token, body: { ttlSeconds: 1 } }),
    ).toMatchObject({ outcome: 'expired' });
    await until(() => received.length > 0, 5_000, 'the ping to arrive');
    expect(received).toEqual(['ping']);
    expect(audit('command.ping', 'ox-api')[0]).toMatchObject({
      outcome: 'failure',
      details: { outcome: 'expired' },
    });
    await closeConnection(silent);
  }, 30_000);
});

describe('rotate-cert in the renewal window', () => {
  it('is sent once a device listens with a certificate inside the window; the device renews on it', async () => {
    const device = await simulatedDevice('ox-renew', await shortLivedEnrollment());
    const first = device.credentials!;
    expect(first.notAfter - Date.now()).toBeLessThan(3 * 86_400_000);
    const log = commandLog(device);
    const renewed = new Promise<string>((resolve) => device.once('renewed', resolve));
    let sessions = 0;
    device.on('online', () => (sessions += 1));
    await online(device);
    const serial = await renewed;
    expect(serial).not.toBe(first.serial);
    await until(() => log.length > 0, 10_000, 'the rotate-cert ack');
    expect(log).toEqual([['rotate-cert', 'done']]);
    // A second session, with the new certificate (the first one ended after the ack).
    await until(() => sessions === 2 && device.status === 'online', 10_000, 'the reconnect');
    expect(pki.store.devices.require('ox-renew').currentSerial).toBe(serial);
    expect(pki.store.certificates.get(serial)!.notAfter - Date.now()).toBeGreaterThan(80 * 86_400_000);
    // Once per certificate: the ack was recorded, and a ping after the reconnect is the next command.
    await until(
      () => audit('command.rotate-cert', 'ox-renew')[0]?.outcome === 'success',
      10_000,
      'the rotate-cert audit entry',
    );
    expect(await api().json('POST', '/api/v1/devices/ox-renew/ping', { token, body: {} })).toMatchObject({
      outcome: 'acked',
    });
    await until(() => log.length === 2, 5_000, 'the device to report the ping');
    expect(log).toEqual([
      ['rotate-cert', 'done'],
      ['ping', 'done'],
    ]);
    expect(audit('command.rotate-cert', 'ox-renew')).toHaveLength(1);
    expect(audit('command.rotate-cert', 'ox-renew')[0]).toMatchObject({ actor: 'system:renewal' });
  }, 30_000);

  it('is sent at most once per certificate, also when the device never answered it', async () => {
    const device = await simulatedDevice('ox-mute', await shortLivedEnrollment());
    const creds = device.credentials!;
    const target = { host: '127.0.0.1', port: hub.ready.mqttPort };
    const received: string[][] = [[], []];
    for (const session of [0, 1]) {
      const client = await openConnection(target, { deviceId: 'ox-mute', ...creds });
      clients.push(client);
      client.on('message', (_t, payload) =>
        received[session]!.push((JSON.parse(payload.toString()) as { type: string }).type),
      );
      await client.subscribeAsync('devices/ox-mute/commands', { qos: 1 });
      if (session === 0) await until(() => received[0]!.length > 0, 10_000, 'the rotate-cert');
      else {
        // Commands to one session arrive in order: had a second rotate-cert gone out at the
        // subscription, it would come before this ping.
        await api().json('POST', '/api/v1/devices/ox-mute/ping', { token, body: { ttlSeconds: 1 } });
        await until(() => received[1]!.length > 0, 5_000, 'the ping to arrive');
      }
      await closeConnection(client);
    }
    expect(received).toEqual([['rotate-cert'], ['ping']]);
    // Recorded for the certificate before it went out; its answer is still awaited (60 s expiry).
    expect(new CertificateRotationRepository(pki.store.db).get(creds.serial)).toMatchObject({
      deviceId: 'ox-mute',
      outcome: null,
    });
  }, 30_000);
});

describe('with no hub running', () => {
  it('a CLI wipe changes nothing and says why in one line', async () => {
    const device = await simulatedDevice('ox-later');
    expect(await hub.stop()).toBe(0);
    const result = await runCli(['device', 'wipe', 'ox-later', '--reason', 'reported lost'], env());
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no hub is running on .*nothing was changed.*vitalgate device revoke/);
    expect(pki.store.devices.require('ox-later').status).toBe('active');
    expect(pki.store.certificates.get(device.credentials!.serial)?.status).toBe('active');
    expect(audit('device.wipe', 'ox-later')).toHaveLength(0);
  }, 30_000);
});
