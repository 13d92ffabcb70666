// FHIR push throughput (issue 16: at least 2,000 Observations/s in transactions of 100): one
// patient's heart-rate Observations queued in the outbox (sealed, in SQLite), then sent by the
// push sender as FHIR transactions over real HTTPS to a local endpoint that parses each Bundle and
// answers a transaction-response (it stands in for the EHR, with no schema validation, so what is
// timed is the hub's side). Prints one JSON line.
//   npx tsx bench/fhir-push.ts [--observations 20000] [--batch 100]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../core/logger.js';
import { PatientRegistry } from '../core/patient-registry.js';
import { EhrClient } from '../fhir/ehr-client.js';
import { toObservation } from '../fhir/observations.js';
import { PushOutbox } from '../fhir/push-outbox.js';
import { PushSender } from '../fhir/push-sender.js';
import { StoreFhirRepository } from '../fhir/repository.js';
import { createTestPki } from '../test/support/hub-pki.js';
import { addPatient } from '../test/support/ingest.js';

const { values } = parseArgs({
  options: { observations: { type: 'string', default: '20000' }, batch: { type: 'string', default: '100' } },
});
const n = Number(values.observations);
const batch = Number(values.batch);
const round = (x: number) => Math.round(x * 10) / 10;

const pki = await createTestPki();
const dir = mkdtempSync(join(os.tmpdir(), 'vg-bench-push-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 'bench-token\n', { mode: 0o600 });
let entries = 0;
const server = createServer(pki.authority.serverTls(), (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entry: unknown[] };
    entries += bundle.entry.length;
    res.writeHead(200, { 'content-type': 'application/fhir+json' });
    res.end(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: bundle.entry.map(() => ({ response: { status: '201 Created' } })),
      }),
    );
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

const patientId = addPatient(pki, 'Bench Patient');
pki.store.devices.add({ id: 'wear-push', kind: 'wearable', patientId });
const outbox = new PushOutbox(pki.store.db, pki.keyring);
const start = Date.now() - n * 1000;
const resources = Array.from({ length: n }, (_, i) => ({
  patientId,
  resource: toObservation(
    patientId,
    { ts: start + i * 1000, deviceId: 'wear-push', type: 'heart_rate', values: { value: 60 + (i % 40) } },
    'fhir',
  )!,
}));
let began = performance.now();
pki.store.transaction(() => outbox.enqueue('ehr', resources));
const enqueueMs = performance.now() - began;

const client = new EhrClient({
  name: 'ehr',
  baseUrl: `https://localhost:${port}/fhir`,
  ca: pki.authority.caBundlePem(),
  auth: { kind: 'bearer', tokenFile },
  timeoutMs: 30_000,
});
const sender = new PushSender({
  outbox,
  client,
  repository: new StoreFhirRepository({
    patients: pki.store.patients,
    demographics: new PatientRegistry(pki.store.patients, pki.keyring, pki.store.audit),
    devices: pki.store.devices,
    readings: { raw: async () => [], count: async () => 0 },
  }),
  demographics: false,
  batchSize: batch,
  maxAttempts: 5,
  retryBaseMs: 1000,
  audit: pki.store.audit,
  securityEvents: pki.store.securityEvents,
  logger: silentLogger(),
});
began = performance.now();
const sent = await sender.drain();
const sendMs = performance.now() - began;
if (sent !== n) throw new Error(`sent ${sent} of ${n}`);

console.log(
  JSON.stringify({
    bench: 'fhir-push',
    observations: n,
    batch,
    enqueuePerSecond: Math.round(n / (enqueueMs / 1000)),
    sendPerSecond: Math.round(n / (sendMs / 1000)),
    sendMs: round(sendMs),
    transactions: Math.ceil(n / batch),
    entriesReceived: entries,
    loadAverage: os.loadavg().map(round),
  }),
);

await sender.close();
client.close();
server.close();
rmSync(dir, { recursive: true, force: true });
pki.cleanup();
