// Our broker path (identity gate, ACL, token buckets, packet guard, metrics, audit; intake
// excluded) against Debian's Mosquitto configured the same way (mutual TLS with the same hub CA,
// CRLs and server certificate, require_certificate, use_identity_as_username, a per-device ACL),
// and a bare Aedes over the same mutual TLS for reference. Same hub-issued device certificates,
// same load generator (mqtt.js in this process), one run. Each broker runs in its own process;
// its CPU comes from /proc (all threads, ns), its memory from VmRSS. One JSON line:
// broker CPU µs per QoS-1 message, CPU ms per mutual-TLS connect, RSS KB per idle connection.
//
//   npx tsx bench/broker.ts [--clients 300] [--messages 100] [--rounds 2] [--brokers vitalgate,mosquitto,aedes]
//   npx tsx bench/broker.ts --profile DIR   # also writes per-phase .cpuprofile files of both Node brokers
//   npx tsx bench/broker.ts --perf DIR      # also records each broker with `perf record` per phase
//
// --messages is per client and round. The load generator floods far past a real device's rate,
// so the bench raises the per-device message/byte rates (the buckets are still checked).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer as createTlsServer } from 'node:tls';
import { Session } from 'node:inspector/promises';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { DeviceBroker } from '../broker/device-broker.js';
import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { ControlPlane } from '../core/store/control-plane.js';
import { createTestPki, type DeviceCredentials } from '../test/support/hub-pki.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '300' },
    messages: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
    brokers: { type: 'string', default: 'vitalgate,mosquitto,aedes' },
    profile: { type: 'string' },
    perf: { type: 'string' },
    serve: { type: 'string' },
    material: { type: 'string' },
  },
});

type ServeRequest = 'gc' | 'stop' | 'profile:connect' | 'profile:publish' | 'profile:stop';
interface ServeReply {
  port?: number;
  heapKb?: number;
}

interface BrokerUnderTest {
  pid: number;
  port: number;
  /** Asks a Node broker to collect garbage before a memory sample (no-op for Mosquitto). */
  request(req: ServeRequest): Promise<ServeReply>;
  stop(): Promise<void>;
}

interface Material {
  dataDir: string;
  key: string;
  cert: string;
  ca: string;
  /** Our broker's OpenSSL trust anchor (the issuing CA's self-signed twin); the others use `ca`. */
  anchors: string;
  crl: string[];
}

async function main(): Promise<void> {
  const clients = Number(values.clients);
  const perClient = Number(values.messages);
  const rounds = Number(values.rounds);
  const brokers = values.brokers!.split(',');
  const pki = await createTestPki();
  const work = mkdtempSync(join(tmpdir(), 'vg-bench-broker-'));
  chmodSync(work, 0o755);
  try {
    const creds: DeviceCredentials[] = [];
    for (let i = 0; i < clients; i++) creds.push(await pki.issueDevice(`bench-${i}`, 'wearable'));
    const material: Material = {
      dataDir: pki.dataDir,
      ...pki.authority.serverTls(),
      ca: pki.authority.caBundlePem(),
      anchors: pki.authority.deviceTrustAnchorPem(),
      crl: pki.authority.tlsRevocationPem(),
    };
    const materialFile = join(work, 'material.json');
    writeFileSync(materialFile, JSON.stringify(material));

    const results: Record<string, PhaseResult> = {};
    for (const name of brokers) {
      const broker =
        name === 'mosquitto'
          ? await startMosquitto(work, material)
          : await startNodeBroker(name, materialFile, values.profile);
      try {
        results[name] = await drive(name, broker, creds, perClient, rounds);
      } finally {
        await broker.stop();
      }
    }
    const ours = results.vitalgate;
    const ref = results.mosquitto;
    const ratio = (a: number | undefined, b: number | undefined) =>
      a !== undefined && b ? Number((a / b).toFixed(2)) : null;
    console.log(
      JSON.stringify({
        bench: 'broker',
        clients,
        messages: clients * perClient * rounds,
        ...results,
        ratios: {
          cpuPerMessage: ratio(ours?.cpuUsPerMessage, ref?.cpuUsPerMessage),
          cpuPerConnect: ratio(ours?.cpuMsPerConnect, ref?.cpuMsPerConnect),
          memoryPerConnection: ratio(ours?.rssKbPerConnection, ref?.rssKbPerConnection),
        },
        node: process.version,
        at: new Date().toISOString(),
      }),
    );
  } finally {
    pki.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

interface PhaseResult {
  cpuUsPerMessage: number;
  cpuMsPerConnect: number;
  rssKbPerConnection: number;
  heapKbPerConnection?: number;
  messagesPerSecond: number;
}

async function drive(
  name: string,
  broker: BrokerUnderTest,
  creds: DeviceCredentials[],
  perClient: number,
  rounds: number,
): Promise<PhaseResult> {
  const payload = (seq: number) =>
    JSON.stringify({
      v: 1,
      seq,
      ts: Date.now(),
      readings: [
        { type: 'heart_rate', value: 72, unit: '/min' },
        { type: 'spo2', value: 97, unit: '%' },
        { type: 'body_temperature', value: 36.8, unit: 'Cel' },
      ],
    });

  // Warm-up: JIT, TLS and allocator caches, on a few clients that reconnect later.
  const warm = await connectAll(broker.port, creds.slice(0, 20));
  await Promise.all(warm.map((c, i) => pump(c, creds[i]!.deviceId, 50, payload)));
  await Promise.all(warm.map((c) => c.endAsync()));
  await sleep(300);

  // Memory: the steady-state cost of one more idle connection. The first half of the fleet
  // connects, the broker settles (GC for Node), then the second half connects; the RSS growth
  // over the second half is what a connection costs once heaps and allocator arenas are warm.
  const half = Math.floor(creds.length / 2);
  await broker.request('profile:connect');
  let perf = await startPerf(name, 'connect', broker.pid);
  const cpuBeforeConnect = cpuNs(broker.pid);
  const clients = await connectAll(broker.port, creds.slice(0, half));
  let cpuConnect = cpuNs(broker.pid) - cpuBeforeConnect;
  await sleep(300);
  const baseline = await settle(broker);
  const cpuBeforeSecond = cpuNs(broker.pid);
  clients.push(...(await connectAll(broker.port, creds.slice(half), half)));
  cpuConnect += cpuNs(broker.pid) - cpuBeforeSecond;
  await broker.request('profile:stop');
  await perf?.();
  await sleep(500);
  const connected = await settle(broker);
  const added = creds.length - half;

  let cpuPublish = 0;
  let wall = 0;
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await sleep(300);
    const cpu0 = cpuNs(broker.pid);
    const t0 = performance.now();
    if (round === 0) await broker.request('profile:publish');
    if (round === 0) perf = await startPerf(name, 'publish', broker.pid);
    await Promise.all(clients.map((c, i) => pump(c, creds[i]!.deviceId, perClient, payload)));
    if (round === 0) await broker.request('profile:stop');
    if (round === 0) await perf?.();
    wall += performance.now() - t0;
    cpuPublish += cpuNs(broker.pid) - cpu0;
  }
  await Promise.all(clients.map((c) => c.endAsync(true)));
  const messages = creds.length * perClient * rounds;
  const n = creds.length;
  return {
    cpuUsPerMessage: round1(cpuPublish / 1000 / messages),
    cpuMsPerConnect: round2(cpuConnect / 1e6 / n),
    rssKbPerConnection: round1((connected.rssKb - baseline.rssKb) / added),
    ...(connected.heapKb !== undefined && baseline.heapKb !== undefined
      ? { heapKbPerConnection: round1((connected.heapKb - baseline.heapKb) / added) }
      : {}),
    messagesPerSecond: Math.round(messages / (wall / 1000)),
  };
}

/** `perf record` on the broker process for one phase (--perf); resolves the stop function. */
async function startPerf(
  name: string,
  phase: string,
  pid: number,
): Promise<(() => Promise<void>) | undefined> {
  if (!values.perf) return undefined;
  const out = join(values.perf, `${name}-${phase}.perf.data`);
  const perf = spawn(
    'perf',
    ['record', '-q', '-e', 'cpu-clock', '-F', '1999', '-p', String(pid), '-o', out],
    {
      stdio: 'ignore',
    },
  );
  await sleep(300); // attached
  return async () => {
    perf.kill('SIGINT');
    await exited(perf);
  };
}

async function settle(broker: BrokerUnderTest): Promise<{ rssKb: number; heapKb?: number }> {
  const reply = await broker.request('gc');
  await sleep(200);
  return { rssKb: rssKb(broker.pid), ...(reply.heapKb !== undefined ? { heapKb: reply.heapKb } : {}) };
}

/** Connects 16 at a time, each from one of several loopback addresses (as a fleet would). */
async function connectAll(port: number, creds: DeviceCredentials[], offset = 0): Promise<MqttClient[]> {
  const clients: MqttClient[] = new Array(creds.length);
  let next = 0;
  const worker = async () => {
    while (next < creds.length) {
      const i = next++;
      const c = creds[i]!;
      clients[i] = await mqtt.connectAsync({
        host: '127.0.0.1',
        port,
        protocol: 'mqtts',
        protocolVersion: 4,
        clientId: c.deviceId,
        key: c.keyPem,
        cert: c.certPem,
        ca: c.caPem,
        servername: 'localhost',
        localAddress: `127.0.${1 + Math.floor((offset + i) / 200)}.${2 + ((offset + i) % 200)}`,
        reconnectPeriod: 0,
        connectTimeout: 20_000,
        keepalive: 600,
      } as mqtt.IClientOptions);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return clients;
}

/** QoS-1 publishes with up to 4 in flight per client. */
function pump(client: MqttClient, deviceId: string, count: number, payload: (seq: number) => string) {
  const topic = `devices/${deviceId}/telemetry`;
  return new Promise<void>((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const send = () => {
      sent += 1;
      client.publish(topic, payload(sent), { qos: 1 }, (err) => {
        if (err) return reject(err);
        acked += 1;
        if (acked === count) resolve();
        else if (sent < count) send();
      });
    };
    for (let i = 0; i < Math.min(4, count); i++) send();
  });
}

async function startNodeBroker(
  name: string,
  materialFile: string,
  profileDir: string | undefined,
): Promise<BrokerUnderTest> {
  const args = [
    '--expose-gc',
    // JIT symbols for perf; the code log that comes with them goes to the perf directory.
    ...(values.perf
      ? ['--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(values.perf, `${name}-v8.log`)}`]
      : []),
    ...process.execArgv,
    process.argv[1]!,
    '--serve',
    name,
    '--material',
    materialFile,
    ...(profileDir ? ['--profile', profileDir] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: ((reply: ServeReply) => void)[] = [];
  child.on('message', (reply: ServeReply) => replies.shift()?.(reply));
  const request = (req: ServeRequest) =>
    new Promise<ServeReply>((resolve) => {
      replies.push(resolve);
      child.send(req);
    });
  const ready = await new Promise<ServeReply>((resolve, reject) => {
    replies.push(resolve);
    child.once('exit', (code) => reject(new Error(`${name} broker exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    port: ready.port!,
    request,
    stop: async () => {
      await request('stop');
      await exited(child);
    },
  };
}

async function startMosquitto(work: string, m: Material): Promise<BrokerUnderTest> {
  const port = await freePort();
  const file = (name: string, content: string) => {
    const path = join(work, name);
    writeFileSync(path, content, { mode: 0o644 });
    return path;
  };
  const acl = file(
    'mosquitto.acl',
    [
      'pattern write devices/%u/telemetry',
      'pattern write devices/%u/status',
      'pattern write devices/%u/commands/ack',
      'pattern read devices/%u/commands',
      '',
    ].join('\n'),
  );
  const conf = file(
    'mosquitto.conf',
    [
      'per_listener_settings false',
      'allow_anonymous false',
      `acl_file ${acl}`,
      'persistence false',
      'log_dest none',
      `max_packet_size ${64 * 1024 + 1024}`,
      `listener ${port} 127.0.0.1`,
      `cafile ${file('ca.pem', m.ca)}`,
      `certfile ${file('server.pem', m.cert)}`,
      `keyfile ${file('server.key', m.key)}`,
      `crlfile ${file('crl.pem', m.crl.join('\n'))}`,
      'require_certificate true',
      'use_identity_as_username true',
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100 && !(await accepts(port)); i++) await sleep(50);
  return {
    pid: child.pid!,
    port,
    request: async () => ({}),
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

/** CPU time of every thread of a process, in ns (schedstat: on-CPU time). */
function cpuNs(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return total;
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Number(x.toFixed(1));
const round2 = (x: number) => Number(x.toFixed(2));

/** The child process: one broker on the bench's TLS material, driven over IPC. */
async function serveBroker(kind: 'vitalgate' | 'aedes', materialFile: string, profileDir?: string) {
  const m = JSON.parse(readFileSync(materialFile, 'utf8')) as Material;
  let port: number;
  let stop: () => Promise<void>;
  if (kind === 'vitalgate') {
    const config = loadConfig({
      env: {
        VITALGATE_DATA_DIR: m.dataDir,
        VITALGATE_DEVICE_MESSAGES_PER_SECOND: '1000000',
        VITALGATE_DEVICE_BYTES_PER_SECOND: '1000000000',
      },
    });
    const store = ControlPlane.open(m.dataDir);
    const broker = new DeviceBroker({
      store,
      limits: config,
      tls: m,
      registry: new Registry(),
      logger: silentLogger(),
    });
    port = await broker.start({ host: '127.0.0.1', port: 0 });
    stop = async () => {
      await broker.stop();
      store.close();
    };
  } else {
    const aedes = await Aedes.createBroker();
    const server = createTlsServer(
      {
        key: m.key,
        cert: m.cert,
        ca: m.ca,
        crl: m.crl,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
      },
      aedes.handle,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
    stop = () => new Promise((resolve) => aedes.close(() => server.close(() => resolve())));
  }
  const profiler = profileDir ? new Session() : undefined;
  let phase = '';
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
  }
  process.on('message', (req: ServeRequest) => {
    void (async (): Promise<ServeReply> => {
      if (req === 'gc') {
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        gc?.();
        return { heapKb: Math.round(process.memoryUsage().heapUsed / 1024) };
      }
      if (req.startsWith('profile:') && profiler && profileDir) {
        if (req === 'profile:stop') {
          const { profile } = await profiler.post('Profiler.stop');
          writeFileSync(join(profileDir, `${kind}-${phase}.cpuprofile`), JSON.stringify(profile));
        } else {
          phase = req.slice('profile:'.length);
          await profiler.post('Profiler.start');
        }
        return {};
      }
      if (req === 'stop') {
        await stop();
        process.send!({}, () => process.exit(0));
        return {};
      }
      return {};
    })().then((reply) => req !== 'stop' && process.send!(reply));
  });
  process.send!({ port });
}

if (values.serve) {
  await serveBroker(values.serve as 'vitalgate' | 'aedes', values.material!, values.profile);
} else {
  await main();
}
