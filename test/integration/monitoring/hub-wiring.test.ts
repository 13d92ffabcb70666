// The monitors as hub/main.ts wires them, in a running Hub (in this process, real broker, API and
// InfluxDB): the device behaviour monitor ticks every VITALGATE_BEHAVIOUR_WINDOW_SECONDS over the
// broker's counters and quarantines (here new networks too, by policy) through the hub's
// lifecycle, ending the live session; the
// staff access monitor scans new PHI reads every VITALGATE_STAFF_SCAN_SECONDS. Both windows are
// one second here; the tests wait for what each monitor does, not for time.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../core/config.js';
import { silentLogger } from '../../../core/logger.js';
import { Hub, type RunningHub } from '../../../hub/main.js';
import { HUB_PLUGINS } from '../../../hub/plugins.js';
import { connectDevice } from '../../support/broker.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { testInflux, type TestInflux } from '../../support/influx.js';

let pki: TestPki;
let influx: TestInflux;
let hub: Hub;
let running: RunningHub;
const clients: MqttClient[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  influx = await testInflux();
  const config = loadConfig({
    env: {
      VITALGATE_DATA_DIR: pki.dataDir,
      VITALGATE_INFLUX_URL: influx.url,
      VITALGATE_INFLUX_DB: influx.database,
      VITALGATE_MQTT_PORT: '0',
      VITALGATE_API_PORT: '0',
      VITALGATE_CHECKS_INTERVAL_MINUTES: '0',
      VITALGATE_BEHAVIOUR_WINDOW_SECONDS: '1',
      VITALGATE_STAFF_SCAN_SECONDS: '1',
      VITALGATE_AUTO_QUARANTINE_RULES: 'flood,auth_failures,new_network',
    },
  });
  hub = new Hub(config, HUB_PLUGINS, silentLogger());
  await hub.start();
  running = hub.hub!;
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.end(true);
  await hub?.stop();
  await influx?.drop();
  pki?.cleanup();
});

const until = (check: () => void) => vi.waitFor(check, { timeout: 15_000, interval: 50 });

describe('the monitors wired into the running hub', () => {
  it('the device behaviour monitor quarantines a device seen on a new network (policy), ending its session', async () => {
    const dev = await pki.issueDevice('wear-wired', 'wearable');
    const first = await connectDevice(running.mqttPort, dev, 'wear-wired'); // from 127.0.0.1
    // Once the hub's monitor has the device's baseline, it comes back from another /24.
    await until(() => expect(running.behaviour?.watches('wear-wired')).toBe(true));
    await first.endAsync();
    const moved = await connectDevice(running.mqttPort, dev, 'wear-wired', {
      localAddress: '127.0.1.3',
    } as Parameters<typeof connectDevice>[3]);
    clients.push(moved);
    const closed = new Promise<void>((r) => moved.once('close', () => r()));
    await until(() => expect(pki.store.devices.require('wear-wired').status).toBe('quarantined'));
    await closed;
    expect(pki.store.securityEvents.list({ kind: 'behaviour_new_network', deviceId: 'wear-wired' })).toEqual([
      expect.objectContaining({ severity: 'high' }),
    ]);
    expect(pki.store.audit.list({ action: 'device.quarantine', target: 'device:wear-wired' })[0]?.actor).toBe(
      'system:monitor',
    );
  });

  it('the staff access monitor raises bulk access from new PHI reads in the audit chain', async () => {
    // What the API records for each read: 21 patients in a minute is more than the bulk policy's 20.
    for (let i = 0; i < 21; i++)
      pki.store.audit.append({
        actor: 'user:dr.bulk',
        action: 'phi.read',
        target: `patient:pat_bulk${String(i).padStart(2, '0')}`,
        outcome: 'success',
        source: '10.0.0.7',
        details: { what: 'demographics' },
      });
    await until(() =>
      expect(pki.store.securityEvents.list({ kind: 'staff_bulk_access' })).toEqual([
        expect.objectContaining({ username: 'dr.bulk', severity: 'high' }),
      ]),
    );
  });
});
