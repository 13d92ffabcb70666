// The floors of a reading's path, each measured alone in this process (docs/INGEST.md, "Where a
// reading's CPU goes"): one AES-256-GCM seal of a reading as ingest seals it (node:crypto, through
// core/keyring.ts), one JSON.parse of a 5-reading envelope, one envelope through the intake's
// validation, and one fdatasync of a 4 KiB append (what a group commit pays once for all the
// messages it carries). Prints one JSON line.
//   npx tsx bench/floors.ts [--n 200000]
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { aesGcmSeal } from '../core/keyring.js';
import { validateTelemetry } from '../ingest/validation.js';
import { round } from './fleet-load.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '200000' } } });
const N = Number(values.n);

const envelope = JSON.stringify({
  v: 1,
  seq: 12345,
  ts: Date.now(),
  readings: [
    { type: 'heart_rate', value: 72, unit: '/min' },
    { type: 'spo2', value: 97, unit: '%' },
    { type: 'steps', value: 4210, unit: '{steps}' },
    { type: 'body_temperature', value: 36.8, unit: 'Cel' },
    { type: 'location', lat: 52.37, lon: 4.89, accuracyM: 10 },
  ],
});
const payload = Buffer.from(envelope);

/** µs per call of `fn`, over `n` calls after a warm-up of a tenth of them. */
function perCall(n: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < n / 10; i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return round(Number(process.hrtime.bigint() - start) / 1000 / n);
}

const key = randomBytes(32);
const reading = Buffer.from('{"t":"heart_rate","v":72,"u":"/min"}');
const aad = 'reading|0123456789abcdef0123456789abcdef|wear-0001|1796547600000|12345|0';
const sealUs = perCall(N, () => aesGcmSeal(key, reading, aad).toString('base64'));
const parseUs = perCall(N, () => JSON.parse(envelope));
const context = {
  kind: 'wearable' as const,
  now: Date.now(),
  maxPayloadBytes: 65_536,
  maxReadings: 100,
  maxClockSkewMs: 300_000,
};
const validateUs = perCall(N / 4, () => {
  if (!validateTelemetry(payload, context).ok) throw new Error('the envelope is refused');
});

const dir = mkdtempSync(join(tmpdir(), 'vg-floors-'));
let fdatasyncMs: number;
try {
  const fd = openSync(join(dir, 'append'), 'a');
  const block = randomBytes(4096);
  const runs = 200;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) {
    writeSync(fd, block);
    fdatasyncSync(fd);
  }
  fdatasyncMs = round(Number(process.hrtime.bigint() - start) / 1e6 / runs);
  closeSync(fd);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  JSON.stringify({
    bench: 'floors',
    n: N,
    sealOneReadingUs: sealUs,
    jsonParseEnvelopeUs: parseUs,
    validateEnvelopeUs: validateUs,
    appendAndFdatasync4KiBMs: fdatasyncMs,
    node: process.version,
  }),
);
