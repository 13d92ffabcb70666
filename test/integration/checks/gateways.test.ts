// VG-GW-001…005 on a test hub's real store (and a real InfluxDB for the manual share), each
// broken and mended: a gateway relaying nothing, a device bound to a revoked gateway, a device
// whose readings are mostly typed in, a drifting device clock, a binding nobody pinned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayRegistry } from '../../../dashboard-api/services/gateway-registry.js';
import {
  deviceClockDrift,
  devicesOnEndedGateways,
  gatewaysWithoutDevices,
  manualReadingShare,
  unpinnedIdentities,
} from '../../../hub/checks/gateways.js';
import { silentDevices } from '../../../hub/checks/fleet.js';
import { checkContext } from '../../support/checks.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { testInflux, type TestInflux } from '../../support/influx.js';

let pki: TestPki;
let influx: TestInflux;
let gateways: GatewayRegistry;
const DAY = 86_400_000;
const run = async (check: typeof gatewaysWithoutDevices, now = Date.now()) =>
  check.run(checkContext(pki, { now, influx: influx.client }));

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  gateways = new GatewayRegistry(pki.store, undefined);
});
afterAll(async () => {
  await influx.drop();
  pki.cleanup();
});

describe('gateway checks', () => {
  it('are not applicable before there is any gateway', async () => {
    for (const check of [
      gatewaysWithoutDevices,
      devicesOnEndedGateways,
      manualReadingShare,
      deviceClockDrift,
      unpinnedIdentities,
    ])
      expect((await run(check)).status).toBe('not_applicable');
  });

  it('VG-GW-001: an active gateway relaying nothing warns; with a device bound, it passes', async () => {
    await pki.issueDevice('gw-1', 'gateway');
    expect(await run(gatewaysWithoutDevices)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('gw-1'),
    });
    pki.store.devices.add({ id: 'bp-1', kind: 'bp_monitor' });
    gateways.bind('gw-1', 'bp-1', {}, 'test');
    expect((await run(gatewaysWithoutDevices)).status).toBe('pass');
  });

  it('VG-GW-005: a binding a day old with no pinned identity warns; pinned, it passes', async () => {
    expect((await run(unpinnedIdentities)).status).toBe('pass'); // bound just now
    expect(await run(unpinnedIdentities, Date.now() + 2 * DAY)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('bp-1'),
    });
    const binding = pki.store.gatewayBindings.ofDevice('bp-1')!;
    pki.store.gatewayBindings.pin(binding.id, '0011223344556677', null);
    expect((await run(unpinnedIdentities, Date.now() + 2 * DAY)).status).toBe('pass');
  });

  it('VG-GW-004: a device clock beyond the limit warns; back within it, it passes', async () => {
    const binding = pki.store.gatewayBindings.ofDevice('bp-1')!;
    pki.store.gatewayBindings.recordDrift(
      binding.id,
      -(pki.config.gatewayClockDriftLimitSeconds + 60) * 1000,
    );
    expect(await run(deviceClockDrift)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('bp-1'),
    });
    pki.store.gatewayBindings.recordDrift(binding.id, 2_000);
    expect((await run(deviceClockDrift)).status).toBe('pass');
  });

  it('VG-GW-003: a device with most readings typed in warns; mostly sensed, it passes', async () => {
    const now = Date.now();
    const line = (modality: string, i: number) =>
      `telemetry,d=bp-1,modality=${modality},s=x,t=blood_pressure c="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",k=1i ${now - i * 60_000}`;
    // A direct device's points (no tag) do not count as anyone's manual share.
    await influx.client.writeLines(
      [
        line('manual', 1),
        line('manual', 2),
        line('sensed', 3),
        'telemetry,d=ox-direct,s=x,t=spo2 c="AAAA",k=1i ' + now,
      ],
      { precision: 'ms' },
    );
    // The contract docs/INGEST.md gives for counting sensed readings: a point without the tag is
    // a direct device's, and `!= 'manual'` counts it with the relayed sensed ones.
    const [sensed] = await influx.client.query("SELECT count(c) FROM telemetry WHERE modality != 'manual'");
    expect(Number(sensed?.rows[0]?.count)).toBe(2);
    expect(await run(manualReadingShare)).toMatchObject({
      status: 'warn',
      evidence: expect.stringContaining('bp-1 (67 %)'),
    });
    await influx.client.writeLines(
      Array.from({ length: 20 }, (_, i) => line('sensed', 10 + i)),
      { precision: 'ms' },
    );
    expect((await run(manualReadingShare)).status).toBe('pass');
  });

  it('VG-GW-002: a device bound to a revoked gateway fails; bound to a working one, it passes', async () => {
    expect((await run(devicesOnEndedGateways)).status).toBe('pass');
    pki.store.devices.setStatus('gw-1', 'revoked', 'lost phone');
    expect(await run(devicesOnEndedGateways)).toMatchObject({
      status: 'fail',
      evidence: expect.stringContaining('bp-1 (gateway gw-1)'),
    });
    await pki.issueDevice('gw-2', 'gateway');
    gateways.bind('gw-2', 'bp-1', {}, 'test');
    expect((await run(devicesOnEndedGateways)).status).toBe('pass');
  });
  it('VG-DEV-004 hears a relayed device through its gateway: silent only when the gateway is', async () => {
    const later = Date.now() + 7 * DAY;
    const live = (ids: string[]) => ({
      mqtt: { host: '127.0.0.1', port: 1 },
      liveSessions: () => ids.map((deviceId) => ({ deviceId, serial: '01', address: '127.0.0.1' })),
    });
    const evidence = async (ids: string[]) =>
      (await silentDevices.run(checkContext(pki, { now: later, live: live(ids) }))).evidence;
    expect(await evidence(['gw-2'])).not.toContain('bp-1');
    expect(await evidence([])).toContain('bp-1');
  });
});
