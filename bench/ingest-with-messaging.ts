// What care-team messaging costs the ingest, on one real `vitalgate start` (mutual-TLS broker,
// spool, ingest, managed InfluxDB, API): 200 wearables publish QoS 1 envelopes of 5 readings on a
// fixed schedule (2,000 readings/s) while 200 clinicians hold the live message stream open; in
// every other phase they also send `--rate` messages a second (each delivered to the other
// members' streams). Phases alternate (off, on, on, off, … `--rounds` pairs) on the same hub;
// the PUBACK latencies of all phases of a mode are pooled (one phase's tail is a few dozen).
// The clinicians run in a process of their own (bench/messaging-client.ts), so their streams do
// not hold up the event loop that times the PUBACKs; each connects from a loopback address of
// their own, as behind the API's per-address rate limit. They still share the 2 cores with the
// hub and the devices, which in a ward they would not. Prints one JSON line.
//
//   npx tsx bench/ingest-with-messaging.ts [--seconds 8] [--rounds 5] [--rate 100]
//
// Target (issue 15): sending and reading raise PUBACK p99 by at most 10 %; delivery p99 ≤ 100 ms.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createTestPki } from '../test/support/hub-pki.js';
import { startHubProcess } from '../test/support/hub-process.js';
import { addPatient } from '../test/support/ingest.js';
import { Fleet, alternation, cpuMs, percentile, pooledP99, round } from './fleet-load.js';
import { messagingSetup } from './messaging-load.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '100' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Math.max(1, Number(values.rounds));
const RATE = Number(values.rate);
const DEVICES = 200;
const PERIOD_MS = 500;

const pki = await createTestPki();
// Clinicians, their sessions and conversations, in the hub's store; the set-up server is closed.
const setup = await messagingSetup(pki);
await setup.api.close();
const creds = [];
for (let i = 0; i < DEVICES; i++)
  creds.push(
    await pki.issueDevice(`bench-msg-${i}`, 'wearable', { patientId: addPatient(pki, `Wearer ${i}`) }),
  );
const hub = await startHubProcess({
  VITALGATE_DATA_DIR: pki.dataDir,
  VITALGATE_DEVICE_MESSAGES_PER_SECOND: '100000',
  VITALGATE_DEVICE_BYTES_PER_SECOND: '100000000',
  VITALGATE_CONNECTS_PER_SOURCE_PER_MINUTE: '100000',
}).catch(async (err: unknown) => {
  pki.cleanup(); // a hub that did not start leaves no data dir behind
  throw err;
});
const sources = setup.clinicians.map((u, i) => [u, `127.0.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`]);
const client = spawn(
  process.execPath,
  ['--import', 'tsx', new URL('./messaging-client.ts', import.meta.url).pathname],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const answers = createInterface({ input: client.stdout! })[Symbol.asyncIterator]();
/** Sends one command to the clinicians' process and waits for its answer. */
async function ask<T>(command: unknown): Promise<T> {
  client.stdin!.write(`${JSON.stringify(command)}\n`);
  const { value, done } = await answers.next();
  if (done) throw new Error('the clinicians process ended');
  return JSON.parse(value as string) as T;
}
const fleet = await Fleet.connect(hub.ready.mqttPort, creds).catch(async (err: unknown) => {
  await hub.stop();
  pki.cleanup();
  throw err;
});
try {
  await ask({
    setup: {
      port: hub.ready.apiPort,
      tokens: [...setup.tokens],
      conversations: setup.conversations,
      ca: pki.authority.caBundlePem(),
      sources,
    },
  });
  await fleet.fixedLoad(2, PERIOD_MS); // warm-up
  const phases: { mode: 'off' | 'on'; p99: number; hubCpuMs: number; sentPerSecond?: number }[] = [];
  const hubCpu = { off: 0, on: 0 };
  const clientCpuBefore = cpuMs(client.pid!);
  const pooled: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const loadAtStart = loadavg()[0]!;
  for (const mode of alternation(ROUNDS)) {
    const cpuBefore = cpuMs(hub.child.pid!);
    const [latencies, sentPerSecond] = await Promise.all([
      fleet.fixedLoad(SECONDS, PERIOD_MS),
      mode === 'on'
        ? ask<{ sentPerSecond: number }>({ run: { rate: RATE, seconds: SECONDS } }).then(
            (a) => a.sentPerSecond,
          )
        : undefined,
    ]);
    pooled[mode].push(...latencies);
    const hubCpuMs = cpuMs(hub.child.pid!) - cpuBefore;
    hubCpu[mode] += hubCpuMs;
    phases.push({
      mode,
      p99: round(percentile(latencies, 0.99)),
      hubCpuMs,
      ...(sentPerSecond ? { sentPerSecond: round(sentPerSecond) } : {}),
    });
  }
  await new Promise((r) => setTimeout(r, 500)); // the last notices on their way
  const p99 = pooledP99(pooled);
  const { latencies: delivery, undelivered } = await ask<{ latencies: number[]; undelivered: number }>({
    report: true,
  });
  delivery.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      bench: 'ingest-with-messaging',
      devices: DEVICES,
      readingsPerSecond: (DEVICES * 5 * 1000) / PERIOD_MS,
      messagesPerSecond: RATE,
      rounds: ROUNDS,
      seconds: SECONDS,
      pubackP99Ms: { ...p99, changePct: round(((p99.on - p99.off) / p99.off) * 100) },
      pubackP50Ms: {
        off: round(percentile(pooled.off, 0.5)),
        on: round(percentile(pooled.on, 0.5)),
      },
      samples: { off: pooled.off.length, on: pooled.on.length },
      // The hub process (not InfluxDB), per second of each mode, and what one message added.
      hubCpuMsPerSecond: {
        off: round(hubCpu.off / (ROUNDS * SECONDS)),
        on: round(hubCpu.on / (ROUNDS * SECONDS)),
      },
      hubCpuMsPerMessage: round((hubCpu.on - hubCpu.off) / (ROUNDS * SECONDS * RATE)),
      // The clinicians' process, which in a ward would not share the hub's cores.
      clinicianCpuMsPerSecond: round((cpuMs(client.pid!) - clientCpuBefore) / (2 * ROUNDS * SECONDS)),
      deliveryMs: {
        n: delivery.length,
        undelivered,
        p50: round(percentile(delivery, 0.5)),
        p99: round(percentile(delivery, 0.99)),
      },
      phases,
      loadAverage: { start: round(loadAtStart), end: round(loadavg()[0]!) },
    }),
  );
} finally {
  client.stdin!.end();
  await fleet.close();
  await hub.stop();
  pki.cleanup();
}
