// Messaging benchmark: 200 clinicians in 500 conversations (250 about patients, each with its
// assigned clinicians; 250 direct ones between 2 or 3 clinicians), every clinician on the live
// stream (GET /api/v1/conversations/stream, one HTTPS connection each), and messages sent through
// POST /api/v1/conversations/{id}/messages at a steady rate by a random member of a random
// conversation. Delivery latency: from just before the send to the notice arriving on each other
// member's stream, over real HTTPS on loopback against buildApiServer on a real SQLite store.
// Target (issue 15): p99 ≤ 100 ms at 100 messages/s.
//   npx tsx bench/messaging.ts [--rate 100] [--seconds 20]
import { request, Agent } from 'node:https';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { silentLogger } from '../core/logger.js';
import { buildApiServer } from '../dashboard-api/server.js';
import { DeviceLifecycle } from '../pki/lifecycle.js';
import { createTestPki } from '../test/support/hub-pki.js';
import { addPatient } from '../test/support/ingest.js';
import { percentile, round } from './heart-rate-day.js';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '100' }, seconds: { type: 'string', default: '20' } },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const CLINICIANS = 200;
const PATIENT_CONVERSATIONS = 250;
const DIRECT_CONVERSATIONS = 250;

const pki = await createTestPki();
const api = await buildApiServer({
  config: pki.config,
  store: pki.store,
  keyring: pki.keyring,
  authority: pki.authority,
  lifecycle: new DeviceLifecycle(pki.store, pki.authority),
  registry: new Registry(),
  telemetry: { read: async () => [] },
  live: { subscribe: () => () => {} },
  logger: silentLogger(),
  rateLimits: { perMinute: 100_000_000 },
  liveCheckMs: 60_000,
});
await api.listen({ host: '127.0.0.1', port: 0 });
const port = (api.server.address() as { port: number }).port;
const ctx = api.apiContext;
const service = ctx.messaging.conversations;

// Staff, patients and conversations, set up through the store and the messaging service.
const clinicians = Array.from({ length: CLINICIANS }, (_, i) => `dr.bench${i}`);
for (const username of clinicians)
  pki.store.users.add({ username, role: 'clinician', passwordHash: 'unused', mustChangePassword: false });
const tokens = new Map(clinicians.map((u) => [u, ctx.sessions.create(u, '127.0.0.1').token]));
const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
const conversations: { id: string; members: string[] }[] = [];
for (let i = 0; i < PATIENT_CONVERSATIONS; i++) {
  const patientId = addPatient(pki, `Bench Patient ${i}`);
  const team = [...new Set([clinicians[i % CLINICIANS]!, pick(clinicians), pick(clinicians)])];
  for (const u of team) pki.store.patients.assign(patientId, u);
  const c = service.openForPatient(patientId, team[0]!).conversation;
  conversations.push({ id: c.id, members: service.members(c) });
}
for (let i = 0; i < DIRECT_CONVERSATIONS; i++) {
  const members = [...new Set([clinicians[(i + 100) % CLINICIANS]!, pick(clinicians), pick(clinicians)])];
  if (members.length < 2) members.push(clinicians[(i + 101) % CLINICIANS]!);
  const c = service.openDirect(members[0]!, members.slice(1));
  conversations.push({ id: c.id, members: service.members(c) });
}

// Every clinician's live stream; each notice of a message is matched to its send time.
const agent = new Agent({ keepAlive: true, maxSockets: CLINICIANS * 2, ca: pki.authority.caBundlePem() });
// The notice usually arrives before the send's answer: arrivals are matched to sends at the end.
const sentAt = new Map<number, number>();
const expected = new Set<string>();
const arrivals = new Map<string, number>();
const streams = await Promise.all(
  clinicians.map(
    (username) =>
      new Promise<() => void>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/api/v1/conversations/stream',
            agent,
            servername: 'localhost',
            headers: { authorization: `Bearer ${tokens.get(username)}`, accept: 'text/event-stream' },
          },
          (res) => {
            let buffer = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              const at = performance.now();
              buffer += chunk;
              let i: number;
              while ((i = buffer.indexOf('\n\n')) >= 0) {
                const block = buffer.slice(0, i);
                buffer = buffer.slice(i + 2);
                if (!block.startsWith('event: message')) continue;
                const { messageId } = JSON.parse(/^data: (.+)$/m.exec(block)![1]!) as { messageId: number };
                arrivals.set(`${messageId}:${username}`, at);
              }
            });
            resolve(() => req.destroy());
          },
        );
        req.on('error', reject);
        req.end();
      }),
  ),
);

function send(conversation: { id: string; members: string[] }): Promise<void> {
  const sender = pick(conversation.members);
  const body = JSON.stringify({ body: 'Bench message: please look at the trend.', priority: 'normal' });
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/api/v1/conversations/${conversation.id}/messages`,
        agent,
        servername: 'localhost',
        headers: {
          authorization: `Bearer ${tokens.get(sender)}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 201) return reject(new Error(`send answered ${res.statusCode}`));
          const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number };
          sentAt.set(id, began);
          for (const m of conversation.members) if (m !== sender) expected.add(`${id}:${m}`);
          resolve();
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const total = RATE * SECONDS;
const sends: Promise<void>[] = [];
// How long the process's event loop was held up (GC, synchronous work, descheduling), to tell a
// slow delivery path from a process that could not run.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const loadAtStart = loadavg()[0]!;
const started = performance.now();
for (let n = 0; n < total; n++) {
  const due = started + (n * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  sends.push(send(pick(conversations)));
}
await Promise.all(sends);
const elapsedS = (performance.now() - started) / 1000;
loopDelay.disable();
await new Promise((r) => setTimeout(r, 500));
const latencies: number[] = [];
let undelivered = 0;
for (const key of expected) {
  const at = arrivals.get(key);
  if (at === undefined) undelivered += 1;
  else latencies.push(at - sentAt.get(Number(key.split(':')[0]))!);
}

console.log(
  JSON.stringify({
    bench: 'messaging',
    clinicians: CLINICIANS,
    conversations: conversations.length,
    rate: RATE,
    messages: total,
    achievedRate: round(total / elapsedS),
    deliveries: latencies.length,
    undelivered,
    deliveryMs: {
      p50: round(percentile(latencies, 0.5)),
      p99: round(percentile(latencies, 0.99)),
      max: round(Math.max(...latencies)),
    },
    eventLoopDelayMs: {
      p99: round(loopDelay.percentile(99) / 1e6),
      max: round(loopDelay.max / 1e6),
    },
    loadAverage: { start: round(loadAtStart), end: round(loadavg()[0]!) },
  }),
);

for (const close of streams) close();
agent.destroy();
await api.close();
pki.cleanup();
