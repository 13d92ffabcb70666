// The validation stage alone (ingest/validation.ts), as the broker runs it inside authorizePublish
// before every PUBACK: a realistic 5-reading wearable envelope, parsed from its bytes each time.
// Prints one JSON line: messages/s and µs/message (median of the timed rounds, and the best round,
// which is the figure on an idle machine), JSON.parse alone on the same bytes for scale, and the
// same figures for a message refused late (a value out of range in its last reading) and for a
// one-second 250 Hz ECG chunk.
//   npx tsx bench/validate.ts [--seconds 3]
import { parseArgs } from 'node:util';
import { validateTelemetry, type ValidationContext } from '../ingest/validation.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);

const now = Date.now();
const ctx: ValidationContext = {
  kind: 'wearable',
  now,
  maxPayloadBytes: 65_536,
  maxReadings: 500,
  maxClockSkewMs: 300_000,
  maxAgeMs: 30 * 86_400_000,
};

const envelope = (lastSpo2: number) => ({
  v: 1,
  seq: 1842,
  ts: now - 1000,
  readings: [
    { type: 'heart_rate', value: 72, unit: '/min' },
    { type: 'spo2', value: 97, unit: '%' },
    { type: 'body_temperature', value: 36.8, unit: 'Cel', ts: now - 4000 },
    { type: 'location', lat: 52.37, lon: 4.89, accuracyM: 12 },
    { type: 'spo2', value: lastSpo2, unit: '%' },
  ],
});
const valid = Buffer.from(JSON.stringify(envelope(96)));
// One second of ECG at 250 Hz with a heart rate: the heaviest message a wearable sends often.
const ecgChunk = Buffer.from(
  JSON.stringify({
    v: 1,
    seq: 1843,
    ts: now - 1000,
    readings: [
      { type: 'heart_rate', value: 72, unit: '/min' },
      {
        type: 'ecg',
        sampleRateHz: 250,
        samples: Array.from({ length: 250 }, (_, i) => Math.round(Math.sin(i / 8) * 1000) / 1000),
        unit: 'mV',
      },
    ],
  }),
);
const refused = Buffer.from(JSON.stringify(envelope(120)));

interface Timing {
  messagesPerSecond: number;
  usPerMessage: number;
  bestRoundUs: number;
}

function time(op: () => boolean, share: number): Timing {
  const batch = 10_000;
  for (let i = 0; i < 5 * batch; i++) op(); // warm-up (JIT)
  const rounds: number[] = [];
  const end = performance.now() + seconds * 1000 * share;
  let sink = 0;
  while (performance.now() < end || rounds.length < 3) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) if (op()) sink++;
    rounds.push(Number(process.hrtime.bigint() - t0) / 1000 / batch);
  }
  if (sink < 0) console.error(sink);
  rounds.sort((a, b) => a - b);
  const us = rounds[Math.floor(rounds.length / 2)]!;
  return {
    messagesPerSecond: Math.round(1e6 / us),
    usPerMessage: Number(us.toFixed(2)),
    bestRoundUs: Number(rounds[0]!.toFixed(2)),
  };
}

function run(payload: Buffer, expectOk: boolean, share: number): Timing {
  const check = validateTelemetry(payload, ctx);
  if (check.ok !== expectOk) throw new Error(`unexpected result: ${JSON.stringify(check)}`);
  return time(() => validateTelemetry(payload, ctx).ok, share);
}

const accepted = run(valid, true, 0.5);
const rejected = run(refused, false, 0.3);
const jsonParse = time(() => JSON.parse(valid.toString('utf8')) !== null, 0.1);
const ecg = run(ecgChunk, true, 0.1);
console.log(
  JSON.stringify({
    bench: 'validate',
    readingsPerMessage: 5,
    payloadBytes: valid.length,
    messagesPerSecond: accepted.messagesPerSecond,
    usPerMessage: accepted.usPerMessage,
    bestRoundUs: accepted.bestRoundUs,
    jsonParseUs: jsonParse.usPerMessage,
    refusedLate: rejected,
    ecgChunk250: { payloadBytes: ecgChunk.length, ...ecg },
    node: process.version,
  }),
);
