// Care-team messaging load for benches: 200 clinicians in 500 conversations (250 about patients
// with their assigned clinicians, 250 direct ones between 2 or 3 clinicians), every clinician on
// the live stream, messages sent by a random member of a random conversation at a steady rate;
// delivery latency from just before the send to the notice on each other member's stream.
import { Agent, request } from 'node:https';
import type { TestPki } from '../test/support/hub-pki.js';
import { addPatient } from '../test/support/ingest.js';
import { apiOverTestPki } from '../test/support/pki-api.js';

export const CLINICIANS = 200;
const PATIENT_CONVERSATIONS = 250;
const DIRECT_CONVERSATIONS = 250;

export interface Conversation {
  id: string;
  members: string[];
}

const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;

/**
 * An API server on the test PKI's store (the caller closes it, or keeps it to serve), with the
 * clinicians, their sessions and the conversations set up through the store and the service.
 */
export async function messagingSetup(pki: TestPki) {
  const api = await apiOverTestPki(
    pki,
    { read: async () => [] },
    { rateLimits: { perMinute: 100_000_000 }, liveCheckMs: 60_000 },
  );
  const ctx = api.apiContext;
  const service = ctx.messaging.conversations;
  const clinicians = Array.from({ length: CLINICIANS }, (_, i) => `dr.bench${i}`);
  for (const username of clinicians)
    pki.store.users.add({ username, role: 'clinician', passwordHash: 'unused', mustChangePassword: false });
  const tokens = new Map(clinicians.map((u) => [u, ctx.sessions.create(u, '127.0.0.1').token]));
  const conversations: Conversation[] = [];
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
  return { api, clinicians, tokens, conversations };
}

/** Senders and streams against one API port; arrivals are matched to sends at the end. */
export class MessagingLoad {
  readonly agent: Agent;
  private readonly sentAt = new Map<number, number>();
  private readonly expected = new Set<string>();
  private readonly arrivals = new Map<string, number>();
  private streams: (() => void)[] = [];

  constructor(
    private readonly port: number,
    private readonly tokens: ReadonlyMap<string, string>,
    private readonly conversations: readonly Conversation[],
    ca: string,
    /** Each clinician's own loopback source address, as behind a hub's per-address rate limit. */
    private readonly sourceOf: (username: string) => string | undefined = () => undefined,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: tokens.size * 2, ca });
  }

  /** Every clinician's live stream (GET /api/v1/conversations/stream), open once this resolves. */
  async openStreams(): Promise<void> {
    this.streams = await Promise.all(
      [...this.tokens].map(
        ([username, token]) =>
          new Promise<() => void>((resolve, reject) => {
            const req = request(
              {
                host: '127.0.0.1',
                port: this.port,
                path: '/api/v1/conversations/stream',
                agent: this.agent,
                localAddress: this.sourceOf(username),
                servername: 'localhost',
                headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
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
                    const { messageId } = JSON.parse(/^data: (.+)$/m.exec(block)![1]!) as {
                      messageId: number;
                    };
                    this.arrivals.set(`${messageId}:${username}`, at);
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
  }

  /** One message, by a random member of a random conversation. */
  send(): Promise<void> {
    const conversation = pick(this.conversations);
    const sender = pick(conversation.members);
    const body = JSON.stringify({ body: 'Bench message: please look at the trend.', priority: 'normal' });
    const began = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path: `/api/v1/conversations/${conversation.id}/messages`,
          agent: this.agent,
          localAddress: this.sourceOf(sender),
          servername: 'localhost',
          headers: {
            authorization: `Bearer ${this.tokens.get(sender)}`,
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
            this.sentAt.set(id, began);
            for (const m of conversation.members) if (m !== sender) this.expected.add(`${id}:${m}`);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** `rate` messages a second for `seconds`, on schedule; resolves with the achieved rate. */
  async run(rate: number, seconds: number): Promise<number> {
    const total = rate * seconds;
    const sends: Promise<void>[] = [];
    const started = performance.now();
    for (let n = 0; n < total; n++) {
      const wait = started + (n * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(this.send());
    }
    await Promise.all(sends);
    return total / ((performance.now() - started) / 1000);
  }

  /** Delivery latencies (ms) of every notice expected so far, and how many never arrived. */
  deliveries(): { latencies: number[]; undelivered: number } {
    const latencies: number[] = [];
    let undelivered = 0;
    for (const key of this.expected) {
      const at = this.arrivals.get(key);
      if (at === undefined) undelivered += 1;
      else latencies.push(at - this.sentAt.get(Number(key.split(':')[0]))!);
    }
    return { latencies, undelivered };
  }

  close(): void {
    for (const close of this.streams) close();
    this.agent.destroy();
  }
}
