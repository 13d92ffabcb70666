// Alerts at scale through a real `vitalgate start` (mutual-TLS broker, spool, ingest, managed
// InfluxDB): 1,000 patients, each with thresholds of their own when they are on, and 200
// wearables (one per patient) publishing QoS 1 envelopes of 5 readings. Prints one JSON line:
//
// - `fixedLoad`: PUBACK p50/p99 at 2,000 readings/s (each device every 500 ms, random phase),
//   with per-patient thresholds off and on, alternated (off, on, on, off, …: `--rounds` pairs) on
//   the same hub; besides each phase's, the p99 of all phases of a mode pooled (the tail of one
//   8 s phase is a few dozen samples, and moves more from phase to phase than the effect);
// - `saturated`: readings/s the hub acknowledges (PUBACK: spooled, judged by the alert rules)
//   with every device publishing back to back, off and on alternated the same way;
// - `breachToPush`: from the publish of a heart rate above the patient's own threshold to the
//   encrypted push arriving at a push-service stand-in (a real HTTPS server of this bench, as in
//   test/support/push-service.ts): one breach per patient, spread over a fixed-load phase.
//
//   npx tsx bench/alerts.ts [--seconds 8] [--breaches 200] [--rounds 3]
//
// Targets (issue 23): with thresholds on, neither readings/s nor PUBACK p99 worse by more than
// 5 %; breach to push p99 ≤ 1 s. The load generator shares the cores with the hub.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VapidKeys } from '../care/vapid-keys.js';
import { AlertParameterRepository } from '../core/store/alert-settings.js';
import { PushRepository } from '../core/store/push.js';
import { createTestPki } from '../test/support/hub-pki.js';
import { startHubProcess } from '../test/support/hub-process.js';
import { addPatient } from '../test/support/ingest.js';
import { PushServiceStandIn, type FakeBrowser } from '../test/support/push-service.js';
import { Fleet, READINGS_PER_MESSAGE, alternation, percentile, pooledP99, round } from './fleet-load.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    breaches: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
  },
});
const ROUNDS = Math.max(1, Number(values.rounds));
const SECONDS = Number(values.seconds);
const PATIENTS = 1000;
const DEVICES = 200;
const BREACHES = Math.min(DEVICES, Number(values.breaches));
const PERIOD_MS = 500; // 200 devices × 2 messages/s × 5 readings = 2,000 readings/s

const pki = await createTestPki();
const patients: string[] = [];
for (let i = 0; i < PATIENTS; i++) patients.push(addPatient(pki, `Bench Patient ${i}`));
const parameters = new AlertParameterRepository(pki.store.db);
/** Each patient's own thresholds (heart rate high between 120 and 140 /min, and the rest). */
function thresholdsOn(): void {
  pki.store.transaction(() => {
    patients.forEach((id, i) => {
      const high = 120 + (i % 21);
      parameters.set(id, 'heart_rate_high', 'threshold', high);
      parameters.set(id, 'heart_rate_high', 'clearAt', high - 10);
      parameters.set(id, 'spo2_low', 'threshold', 88 + (i % 4));
      parameters.set(id, 'spo2_low', 'clearAt', 93);
      parameters.set(id, 'heart_rate_low', 'threshold', 35 + (i % 6));
    });
  });
}
function thresholdsOff(): void {
  pki.store.db.prepare('DELETE FROM alert_rule_parameters').run();
}

// Clinicians, one per breaching patient, each with a browser subscribed at the stand-in.
const pushService = new PushServiceStandIn(pki.authority.serverTls());
await pushService.start();
const vapidKeyId = new VapidKeys(pki.store, pki.keyring).current().id;
const push = new PushRepository(pki.store.db);
const browserOf = new Map<string, number>(); // stand-in path -> device index
for (let i = 0; i < BREACHES; i++) {
  const username = `bench.nurse${i}`;
  pki.store.users.add({ username, role: 'clinician', passwordHash: 'x', mustChangePassword: true });
  pki.store.patients.assign(patients[i]!, username);
  const browser: FakeBrowser = pushService.browser();
  push.subscribe({
    username,
    ...browser.subscription.keys,
    endpoint: browser.subscription.endpoint,
    label: 'bench',
    vapidKeyId,
  });
  browserOf.set(new URL(browser.subscription.endpoint).pathname, i);
}

const creds = [];
for (let i = 0; i < DEVICES; i++)
  creds.push(await pki.issueDevice(`bench-al-${i}`, 'wearable', { patientId: patients[i]! }));
const caFile = join(pki.dataDir, 'bench-push-ca.pem');
writeFileSync(caFile, pki.authority.caBundlePem());
const hub = await startHubProcess({
  VITALGATE_DATA_DIR: pki.dataDir,
  VITALGATE_DEVICE_MESSAGES_PER_SECOND: '100000',
  VITALGATE_DEVICE_BYTES_PER_SECOND: '100000000',
  VITALGATE_CONNECTS_PER_SOURCE_PER_MINUTE: '100000',
  VITALGATE_PUSH_SERVICE_HOSTS: '127.0.0.1',
  // The hub trusts the stand-in's certificate (the hub's own test CA) as a push service's.
  NODE_EXTRA_CA_CERTS: caFile,
}).catch(async (err: unknown) => {
  await pushService.close();
  pki.cleanup(); // a hub that did not start leaves no data dir behind
  throw err;
});
const fleet = await Fleet.connect(hub.ready.mqttPort, creds).catch(async (err: unknown) => {
  await hub.stop();
  await pushService.close();
  pki.cleanup();
  throw err;
});

/** The fixed load; `breachAt` has each breaching device send HR 150 once, from that instant. */
async function fixedLoad(seconds: number, breachAt?: Map<number, number>) {
  const breachSentAt = new Map<number, number>();
  const latencies = await fleet.fixedLoad(seconds, PERIOD_MS, (i) => {
    const breach = breachAt?.get(i);
    if (breach === undefined || Date.now() < breach || breachSentAt.has(i)) return 72;
    breachSentAt.set(i, Date.now());
    return 150;
  });
  return {
    p50: round(percentile(latencies, 0.5)),
    p99: round(percentile(latencies, 0.99)),
    latencies,
    breachSentAt,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 6000)); // the reading path's 5 s settings cache
const result: Record<string, unknown> = {
  patients: PATIENTS,
  devices: DEVICES,
  readingsPerSecond: (DEVICES * READINGS_PER_MESSAGE * 1000) / PERIOD_MS,
};
try {
  await fixedLoad(2); // warm-up
  const fixed: Record<'off' | 'on', { p50: number; p99: number }[]> = { off: [], on: [] };
  const sat: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const pooled: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const modes = alternation(ROUNDS);
  const set = async (mode: 'off' | 'on') => {
    if (mode === 'on') thresholdsOn();
    else thresholdsOff();
    await settle();
  };
  for (const mode of modes) {
    await set(mode);
    const f = await fixedLoad(SECONDS);
    fixed[mode].push({ p50: f.p50, p99: f.p99 });
    pooled[mode].push(...f.latencies);
  }
  for (const mode of modes) {
    await set(mode);
    sat[mode].push(await fleet.saturated(SECONDS / 2));
  }
  await set('on');
  const mean = (xs: number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length);
  const p99 = { off: mean(fixed.off.map((f) => f.p99)), on: mean(fixed.on.map((f) => f.p99)) };
  const rps = { off: mean(sat.off), on: mean(sat.on) };
  const pooledP99s = pooledP99(pooled);
  result.fixedLoad = {
    ...fixed,
    p99MeanMs: p99,
    p99ChangePct: round(((p99.on - p99.off) / p99.off) * 100),
    pooled: {
      samples: { off: pooled.off.length, on: pooled.on.length },
      p99Ms: pooledP99s,
      p99ChangePct: round(((pooledP99s.on - pooledP99s.off) / pooledP99s.off) * 100),
    },
  };
  result.saturated = {
    ...sat,
    readingsPerSecondMean: rps,
    changePct: round(((rps.on - rps.off) / rps.off) * 100),
  };

  // Breach to push: thresholds on; each breaching device sends HR 150 once, spread over the phase.
  const breachAt = new Map<number, number>();
  const phaseStart = Date.now() + 1000;
  for (let i = 0; i < BREACHES; i++)
    breachAt.set(i, phaseStart + Math.floor((i / BREACHES) * (SECONDS - 2) * 1000));
  const before = pushService.received.length;
  const f = await fixedLoad(SECONDS, breachAt);
  await pushService.waitForCount(before + BREACHES, 30_000).catch(() => undefined);
  const delays = pushService.received
    .slice(before)
    .map((r) => {
      const i = browserOf.get(r.path);
      const sent = i === undefined ? undefined : f.breachSentAt.get(i);
      return sent === undefined ? undefined : r.at - sent;
    })
    .filter((d): d is number => d !== undefined)
    .sort((a, b) => a - b);
  result.breachToPush = {
    breaches: f.breachSentAt.size,
    pushes: delays.length,
    refused: pushService.refused.length,
    p50Ms: percentile(delays, 0.5),
    p99Ms: percentile(delays, 0.99),
    maxMs: delays.at(-1) ?? null,
    pubackP99Ms: f.p99,
    // What became of them, when not every push arrived (dead letters: refused messages, must be 0).
    deadLetters: (pki.store.db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n,
    alertsRaised: pki.store.alerts.list({ limit: 10_000 }).filter((a) => a.rule === 'heart_rate_high').length,
    deliveries: pki.store.db
      .prepare(
        'SELECT state, last_status AS status, last_error AS error, COUNT(*) AS n FROM push_deliveries GROUP BY 1, 2, 3',
      )
      .all(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await fleet.close();
  await hub.stop();
  await pushService.close();
  rmSync(caFile, { force: true });
  pki.cleanup();
}
