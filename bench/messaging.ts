// Messaging benchmark: 200 clinicians in 500 conversations (250 about patients, each with its
// assigned clinicians; 250 direct ones between 2 or 3 clinicians), every clinician on the live
// stream (GET /api/v1/conversations/stream, one HTTPS connection each), and messages sent through
// POST /api/v1/conversations/{id}/messages at a steady rate by a random member of a random
// conversation. Delivery latency: from just before the send to the notice arriving on each other
// member's stream, over real HTTPS on loopback against buildApiServer on a real SQLite store.
// Target (issue 15): p99 ≤ 100 ms at 100 messages/s.
//   npx tsx bench/messaging.ts [--rate 100] [--seconds 20]
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createTestPki } from '../test/support/hub-pki.js';
import { percentile, round } from './heart-rate-day.js';
import { CLINICIANS, MessagingLoad, messagingSetup } from './messaging-load.js';

const { values } = parseArgs({
  options: { rate: { type: 'string', default: '100' }, seconds: { type: 'string', default: '20' } },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);

const pki = await createTestPki();
const { api, tokens, conversations } = await messagingSetup(pki);
await api.listen({ host: '127.0.0.1', port: 0 });
const port = (api.server.address() as { port: number }).port;
const load = new MessagingLoad(port, tokens, conversations, pki.authority.caBundlePem());
await load.openStreams();

// How long the process's event loop was held up (GC, synchronous work, descheduling), to tell a
// slow delivery path from a process that could not run.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const loadAtStart = loadavg()[0]!;
const achievedRate = await load.run(RATE, SECONDS);
loopDelay.disable();
await new Promise((r) => setTimeout(r, 500));
const { latencies, undelivered } = load.deliveries();

console.log(
  JSON.stringify({
    bench: 'messaging',
    clinicians: CLINICIANS,
    conversations: conversations.length,
    rate: RATE,
    messages: RATE * SECONDS,
    achievedRate: round(achievedRate),
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

load.close();
await api.close();
pki.cleanup();
