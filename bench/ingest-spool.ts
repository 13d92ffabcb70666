// Spool appends with fsync group commit: P concurrent producers each append records of the size
// of one sealed 5-reading message, as fast as their previous append resolves (as devices waiting
// for a PUBACK do). Prints one JSON line: appends/s, fsyncs, appends per fsync, append latency
// percentiles and how long the event loop was blocked (the broker needs it during an fsync).
//   npx tsx bench/ingest-spool.ts [--producers 64] [--seconds 5] [--bytes 900] [--group-ms 2] [--work-us 0]
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Spool } from '../ingest/spool.js';

const { values } = parseArgs({
  options: {
    producers: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '5' },
    bytes: { type: 'string', default: '900' },
    'group-ms': { type: 'string', default: '2' },
    /** Main-thread CPU per message before its append (TLS, MQTT, validation, sealing). */
    'work-us': { type: 'string', default: '0' },
    dir: { type: 'string', default: process.cwd() },
  },
});
const producers = Number(values.producers);
const seconds = Number(values.seconds);
const recordBytes = Number(values.bytes);
const workUs = Number(values['work-us']);

function work(): void {
  const until = performance.now() + workUs / 1000;
  while (performance.now() < until);
}

// The spool sits where the hub's data dir would: on the real disk, not a tmpfs.
const dir = mkdtempSync(join(values.dir, '.bench-spool-'));
const spool = Spool.open({
  dir,
  segmentBytes: 16 * 1024 * 1024,
  quotaBytes: 8 * 1024 * 1024 * 1024,
  groupCommitMs: Number(values['group-ms']),
});
const body = Buffer.alloc(recordBytes, 0x61);
const latencies: number[] = [];
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const deadline = performance.now() + seconds * 1000;
let appends = 0;

async function producer(): Promise<void> {
  while (performance.now() < deadline) {
    if (workUs > 0) work();
    const t = performance.now();
    await spool.append(body);
    latencies.push(performance.now() - t);
    appends += 1;
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: producers }, producer));
const elapsed = (performance.now() - started) / 1000;
loop.disable();
await spool.close();
rmSync(dir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const pct = (p: number) => Number(latencies[Math.floor((latencies.length - 1) * p)]!.toFixed(2));
console.log(
  JSON.stringify({
    bench: 'ingest-spool',
    producers,
    recordBytes,
    groupCommitMs: Number(values['group-ms']),
    workUsPerMessage: workUs,
    seconds: Number(elapsed.toFixed(2)),
    appendsPerSecond: Math.round(appends / elapsed),
    fsyncs: spool.stats.fsyncs,
    appendsPerFsync: Number((appends / spool.stats.fsyncs).toFixed(1)),
    appendMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
    eventLoopBlockedMs: { p99: Number((loop.percentile(99) / 1e6).toFixed(2)), max: loop.max / 1e6 },
    node: process.version,
  }),
);
