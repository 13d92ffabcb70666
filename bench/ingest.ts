// End-to-end ingest: N mutual-TLS devices publish QoS 1 envelopes of 5 readings through a real
// `vitalgate start` (spool fsync on) into its managed InfluxDB. Prints one JSON line:
// readings/s end to end (published → visible in InfluxDB), PUBACK p50/p99 at half that load,
// hub CPU µs per reading, and the pipeline as a fraction of InfluxDB's own ceiling.
//   npx tsx bench/ingest.ts [--devices 50] [--seconds 10] [--half-seconds 10] [--warmup-seconds 1]
//   npx tsx bench/ingest.ts --gateways 50 --devices-per-gateway 10   # the same through gateways
//   npx tsx bench/ingest.ts --devices 500 --lanes 1                 # messages in flight per connection (8)
//
// With --gateways, N gateways connect instead of devices, each relaying K bound devices
// (docs/GATEWAYS.md): the same readings, in the relayed envelope, on
// gateways/{gw}/devices/{dev}/telemetry, the in-flight lanes of a connection sharing its devices.
//
// Half load: every device publishes on a fixed schedule (random phase) at half the end-to-end
// rate. The first `--warmup-seconds` of it are not recorded (the hub is settling from the
// saturating phase: the writer's last batches, GC), then `--half-seconds` are. `legacyP99Ms`
// is the p99 the way it was measured until 2026-11-30 (the first 5 s, warm-up included), for
// comparison with older runs. The load generator shares the cores with the hub, so the line
// also says how late its own event loop was (`benchLoopDelayP99Ms`: a PUBACK that arrives while
// it is busy is counted late) and how much CPU other processes took meanwhile
// (`otherCpuCores`): a run with other work on the machine is not a measurement of the hub.
// VITALGATE_* variables in the environment are passed on to the hub (to bench a setting).
import { cpuMs } from './fleet-load.js';
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { InfluxClient } from '../core/influx.js';
import { connectDevice } from '../test/support/broker.js';
import { createTestPki, type DeviceCredentials } from '../test/support/hub-pki.js';
import { startHubProcess } from '../test/support/hub-process.js';
import { addPatient } from '../test/support/ingest.js';
import { GatewayRegistry } from '../dashboard-api/services/gateway-registry.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    'half-seconds': { type: 'string', default: '10' },
    'warmup-seconds': { type: 'string', default: '1' },
    gateways: { type: 'string' },
    'devices-per-gateway': { type: 'string', default: '10' },
    /** Messages in flight per connection in phase 1. */
    lanes: { type: 'string', default: '8' },
  },
});
const gatewayCount = values.gateways === undefined ? 0 : Number(values.gateways);
const perGateway = Number(values['devices-per-gateway']);
const lanesPerConnection = Number(values.lanes);
/** Connections: devices, or gateways. */
const deviceCount = gatewayCount || Number(values.devices);
const seconds = Number(values.seconds);
const halfSeconds = Number(values['half-seconds']);
const warmupSeconds = Number(values['warmup-seconds']);
const LEGACY_WINDOW_MS = 5_000;
const READINGS = 5;

/** CPU ms of every process on the machine (user, nice, system, irq, softirq, steal). */
function machineCpuMs(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return ((ticks[0]! + ticks[1]! + ticks[2]! + ticks[5]! + ticks[6]! + ticks[7]!) * 1000) / 100;
}

/** CPU ms of this bench, the hub and the hub's children (InfluxDB). */
function ownCpuMs(hubPid: number): number {
  let children: number[] = [];
  try {
    children = readdirSync(`/proc/${hubPid}/task`).flatMap((t) =>
      readFileSync(`/proc/${hubPid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  } catch {
    // the hub is gone
  }
  return cpuMs('self') + cpuMs(hubPid) + children.reduce((n, c) => n + cpuMs(c), 0);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

const pki = await createTestPki();
const patientId = addPatient(pki);
const creds: DeviceCredentials[] = [];
/** Per connection, what it publishes for: itself, or the devices bound to it (a gateway). */
const targets: { deviceId: string; topic: string; systemId?: string }[][] = [];
const gatewayRegistry = new GatewayRegistry(pki.store, undefined);
for (let i = 0; i < deviceCount; i++) {
  if (!gatewayCount) {
    creds.push(await pki.issueDevice(`bench-${i}`, 'wearable', { patientId }));
    targets.push([{ deviceId: `bench-${i}`, topic: `devices/bench-${i}/telemetry` }]);
    continue;
  }
  const gw = `bench-gw-${i}`;
  creds.push(await pki.issueDevice(gw, 'gateway'));
  const bound = [];
  for (let k = 0; k < perGateway; k++) {
    const dev = `bench-${i}-${k}`;
    pki.store.devices.add({ id: dev, kind: 'wearable', patientId });
    const systemId = (i * 1000 + k).toString(16).toUpperCase().padStart(16, '0');
    gatewayRegistry.bind(gw, dev, { systemId }, 'bench');
    bound.push({ deviceId: dev, topic: `gateways/${gw}/devices/${dev}/telemetry`, systemId });
  }
  targets.push(bound);
}
const hub = await startHubProcess({
  VITALGATE_DATA_DIR: pki.dataDir,
  VITALGATE_DEVICE_MESSAGES_PER_SECOND: '100000',
  VITALGATE_DEVICE_BYTES_PER_SECOND: '100000000',
  VITALGATE_CONNECTS_PER_SOURCE_PER_MINUTE: '100000',
  ...Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('VITALGATE_') && !!e[1]),
  ),
});
const pid = hub.child.pid!;
const influx = new InfluxClient({ url: hub.ready.influxUrl, database: 'vitalgate' });
const clients: MqttClient[] = [];
for (const c of creds) clients.push(await connectDevice(hub.ready.mqttPort, c, c.deviceId));
const seqs = new Map<string, number>();
const t0 = Date.now() - 3_600_000;

function publish(client: MqttClient, target: (typeof targets)[number][number]): Promise<number> {
  const { deviceId } = target;
  const seq = (seqs.get(deviceId) ?? 0) + 1;
  seqs.set(deviceId, seq);
  const ts = t0 + seq * 10;
  const relayed = target.systemId
    ? { device: { systemId: target.systemId }, modality: 'sensed', receivedAt: ts }
    : {};
  const payload = JSON.stringify({
    v: 1,
    seq,
    ts,
    ...relayed,
    readings: [
      { type: 'heart_rate', value: 72, unit: '/min' },
      { type: 'spo2', value: 97, unit: '%' },
      { type: 'steps', value: seq, unit: '{steps}' },
      { type: 'body_temperature', value: 36.8, unit: 'Cel' },
      { type: 'location', lat: 52.37, lon: 4.89, accuracyM: 10 },
    ],
  });
  const start = performance.now();
  return new Promise((resolve, reject) =>
    client.publish(target.topic, payload, { qos: 1 }, (err) =>
      err ? reject(err) : resolve(performance.now() - start),
    ),
  );
}

async function countStored(): Promise<number> {
  const [s] = await influx.query('SELECT count(c) FROM telemetry');
  return Number(s?.rows[0]?.count ?? 0);
}

// Phase 1: saturate, with `--lanes` (8) messages in flight per connection.
const cpu0 = cpuMs(pid);
const start = performance.now();
let acked = 0;
await Promise.all(
  clients.map(async (client, i) => {
    const own = targets[i]!;
    // `--lanes` per connection; each device belongs to one lane, so its seqs go out in order.
    const lanes = Array.from({ length: lanesPerConnection }, async (_, lane) => {
      const list = own.length === 1 ? own : own.filter((_t, k) => k % lanesPerConnection === lane);
      if (list.length === 0) return;
      for (let n = 0; performance.now() - start < seconds * 1000; n++) {
        await publish(client, list[n % list.length]!);
        acked += 1;
      }
    });
    await Promise.all(lanes);
  }),
);
const publishedMs = performance.now() - start;
let stored = await countStored();
while (stored < acked * READINGS) {
  await new Promise((r) => setTimeout(r, 50));
  stored = await countStored();
}
const endToEndMs = performance.now() - start;
const cpuUsedMs = cpuMs(pid) - cpu0;
const readingsPerSec = (acked * READINGS) / (endToEndMs / 1000);

// Phase 2: half that load, paced; PUBACK latencies after a warm-up.
const halfMsgPerSec = readingsPerSec / READINGS / 2;
const perDeviceIntervalMs = (1000 * deviceCount) / halfMsgPerSec;
const latencies: number[] = [];
const legacy: number[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const phase2 = performance.now();
const warmupEnd = phase2 + warmupSeconds * 1000;
const phase2End = warmupEnd + halfSeconds * 1000;
let measuring: { machine: number; own: number; at: number } | undefined;
setTimeout(() => {
  loopDelay.enable();
  measuring = { machine: machineCpuMs(), own: ownCpuMs(pid), at: performance.now() };
}, warmupSeconds * 1000);
await Promise.all(
  clients.map(async (client, i) => {
    const own = targets[i]!;
    let n = 0;
    let next = performance.now() + Math.random() * perDeviceIntervalMs;
    const pending: Promise<void>[] = [];
    while (next < phase2End) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const at = next;
      next += perDeviceIntervalMs;
      pending.push(
        publish(client, own[n++ % own.length]!).then((ms) => {
          if (at >= warmupEnd) latencies.push(ms);
          if (at < phase2 + LEGACY_WINDOW_MS) legacy.push(ms);
        }),
      );
    }
    await Promise.all(pending);
  }),
);
loopDelay.disable();
const measured = measuring!;
const otherCpuCores =
  (machineCpuMs() - measured.machine - (ownCpuMs(pid) - measured.own)) / (performance.now() - measured.at);
latencies.sort((a, b) => a - b);
legacy.sort((a, b) => a - b);

console.log(
  JSON.stringify({
    bench: 'ingest',
    devices: deviceCount,
    ...(gatewayCount ? { gateways: gatewayCount, devicesPerGateway: perGateway } : {}),
    seconds,
    messagesAcked: acked,
    readingsPerSec: Math.round(readingsPerSec),
    publishReadingsPerSec: Math.round((acked * READINGS) / (publishedMs / 1000)),
    pubackP50Ms: Number(percentile(latencies, 0.5).toFixed(2)),
    pubackP99Ms: Number(percentile(latencies, 0.99).toFixed(2)),
    pubackMaxMs: Number((latencies[latencies.length - 1] ?? 0).toFixed(2)),
    pubackSamples: latencies.length,
    legacyP99Ms: Number(percentile(legacy, 0.99).toFixed(2)),
    halfLoadReadingsPerSec: Math.round(halfMsgPerSec * READINGS),
    // the histogram holds whole timer intervals: the 1 ms resolution is not delay
    benchLoopDelayP99Ms: Number(Math.max(0, loopDelay.percentile(99) / 1e6 - 1).toFixed(2)),
    otherCpuCores: Number(Math.max(0, otherCpuCores).toFixed(2)),
    hubCpuUsPerReading: Number(((cpuUsedMs * 1000) / (acked * READINGS)).toFixed(1)),
    fractionOfInfluxCeiling: Number((readingsPerSec / 115_000).toFixed(3)),
    node: process.version,
  }),
);
for (const c of clients) c.end(true);
await hub.stop();
pki.cleanup();
