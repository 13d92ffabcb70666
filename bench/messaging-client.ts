// The clinicians' side of bench/ingest-with-messaging.ts in a process of its own, so that their
// streams and sends do not hold up the event loop that times the devices' PUBACKs. Reads lines
// on stdin, answers one JSON line on stdout each:
//   {"setup": {port, tokens: [[username, token]], conversations, ca, sources: [[username, address]]}}
//     → {"ready": true} once every stream is open
//   {"run": {rate, seconds}} → {"sentPerSecond": n}
//   {"report": true} → {"latencies": [ms…], "undelivered": n}
import { createInterface } from 'node:readline';
import { MessagingLoad, type Conversation } from './messaging-load.js';

interface Setup {
  port: number;
  tokens: [string, string][];
  conversations: Conversation[];
  ca: string;
  sources: [string, string][];
}

let load: MessagingLoad | undefined;
const answer = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as {
    setup?: Setup;
    run?: { rate: number; seconds: number };
    report?: true;
  };
  if (command.setup) {
    const { port, tokens, conversations, ca, sources } = command.setup;
    const source = new Map(sources);
    load = new MessagingLoad(port, new Map(tokens), conversations, ca, (u) => source.get(u));
    await load.openStreams();
    answer({ ready: true });
  } else if (command.run) {
    answer({ sentPerSecond: await load!.run(command.run.rate, command.run.seconds) });
  } else if (command.report) {
    answer(load!.deliveries());
  }
}
load?.close();
