// The CLI's way to the running hub, in one process: a request queued in the control plane, taken
// by the hub's desk and answered; a coded failure comes back as that code; with no hub, or a hub
// that does not take the request, nothing is done (the request is cancelled, atomically); and a
// request a stopped hub left unfinished is marked failed at the next start.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/logger.js';
import { PatientErasure } from '../../../core/patient-erasure.js';
import { HubRequestRepository } from '../../../core/store/hub-requests.js';
import { DeviceCommands } from '../../../dashboard-api/services/device-commands.js';
import { HUB_STATE_FILE } from '../../../hub/checks/live.js';
import { OperatorRequestDesk } from '../../../hub/operator-requests.js';
import { askRunningHub } from '../../../hub/running-hub.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';

let pki: TestPki;
let requests: HubRequestRepository;
let desk: OperatorRequestDesk | undefined;

beforeAll(async () => {
  pki = await createTestPki();
  requests = new HubRequestRepository(pki.store.db);
  await pki.issueDevice('ox-1', 'pulse_oximeter');
  await pki.issueDevice('ox-2', 'pulse_oximeter');
});
afterEach(() => {
  desk?.stop();
  desk = undefined;
  rmSync(join(pki.dataDir, HUB_STATE_FILE), { force: true });
});
afterAll(() => pki.cleanup());

/** This process plays the running hub: its state file, and the desk taking requests. */
function runHub(): void {
  writeFileSync(
    join(pki.dataDir, HUB_STATE_FILE),
    JSON.stringify({ pid: process.pid, mqttPort: 1, apiPort: null }),
  );
  desk = new OperatorRequestDesk({
    requests,
    lifecycle: new DeviceLifecycle(pki.store, pki.authority),
    deviceCommands: new DeviceCommands(pki.store.devices, undefined),
    erasure: new PatientErasure(pki.store, pki.keyring),
    logger: silentLogger(),
  });
  desk.start();
}

const ask = (request: Parameters<typeof askRunningHub>[2], pickupMs?: number) =>
  askRunningHub(pki.config, pki.store, request, {
    whenStopped: 'start it first',
    maxWaitMs: 5_000,
    ...(pickupMs ? { pickupMs } : {}),
  });

describe('requests for the running hub', () => {
  it('are taken by the hub and answered with its result', async () => {
    runHub();
    const result = await ask({
      kind: 'device.lifecycle',
      target: 'ox-1',
      params: { action: 'disable', reason: 'under review' },
      actor: 'cli:test',
    });
    expect(result).toMatchObject({ deviceId: 'ox-1', status: 'disabled' });
    expect(pki.store.audit.list({ action: 'device.disable', target: 'device:ox-1' })[0]).toMatchObject({
      actor: 'cli:test',
      source: 'cli',
    });
  });

  it('bring the hub’s coded refusal back', async () => {
    runHub();
    await expect(
      ask({ kind: 'device.command', target: 'ox-2', params: { type: 'ping' }, actor: 'cli:test' }),
    ).rejects.toMatchObject({ code: 'COMMANDS_UNAVAILABLE' });
    await expect(
      ask({
        kind: 'device.lifecycle',
        target: 'ox-404',
        params: { action: 'wipe', reason: 'lost' },
        actor: 'cli:test',
      }),
    ).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
  });

  it('with no hub running: refused at once, nothing queued', async () => {
    const before = requests.claimNext();
    expect(before).toBeUndefined();
    await expect(
      ask({
        kind: 'device.lifecycle',
        target: 'ox-2',
        params: { action: 'wipe', reason: 'lost' },
        actor: 'cli:test',
      }),
    ).rejects.toMatchObject({ code: 'HUB_NOT_RUNNING', message: expect.stringContaining('start it first') });
    expect(requests.claimNext()).toBeUndefined();
  });

  it('a hub that does not take the request: cancelled, so a later hub never carries it out', async () => {
    writeFileSync(
      join(pki.dataDir, HUB_STATE_FILE),
      JSON.stringify({ pid: process.pid, mqttPort: 1, apiPort: null }),
    );
    await expect(
      ask(
        {
          kind: 'device.lifecycle',
          target: 'ox-2',
          params: { action: 'disable', reason: 'later' },
          actor: 'cli:test',
        },
        300,
      ),
    ).rejects.toMatchObject({
      code: 'HUB_NOT_RESPONDING',
      message: expect.stringContaining('nothing was done'),
    });
    expect(requests.claimNext()).toBeUndefined();
    expect(pki.store.devices.require('ox-2').status).toBe('active');
  });

  it('one a stopped hub left running is marked failed when the next hub starts', async () => {
    const id = requests.enqueue({
      kind: 'device.command',
      target: 'ox-2',
      params: { type: 'ping' },
      actor: 'cli:test',
    });
    expect(requests.claimNext()?.id).toBe(id);
    runHub();
    expect(requests.get(id)).toMatchObject({ state: 'failed', result: { code: 'HUB_STOPPED' } });
  });
});
