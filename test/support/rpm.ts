// A hub for the RPM programme's tests: test PKI, a real ingest pipeline into a real InfluxDB on a
// simulated clock (devices "measure" as the test moves it through a month), and the HTTPS API
// with days of data read from the minute rollups, in a site time zone of the test's choice.
import { Registry } from 'prom-client';
import { loadConfig } from '../../core/config.js';
import { InfluxClient } from '../../core/influx.js';
import { silentLogger } from '../../core/logger.js';
import { buildApiServer } from '../../dashboard-api/server.js';
import { InfluxTelemetryReader } from '../../dashboard-api/telemetry/influx-reader.js';
import { liveFeedFromBus } from '../../dashboard-api/telemetry/live-feed.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { ROLLUPS_SINCE_KEY, rollupsSince } from '../../ingest/rollup-sealing.js';
import { DeviceLifecycle } from '../../pki/lifecycle.js';
import { InfluxSensedDays } from '../../rpm/sensed-days-source.js';
import { ApiClient, TestClock, type TestHub } from '../integration/api/harness.js';
import { createTestPki, type TestPki } from './hub-pki.js';
import { envelope } from './ingest.js';
import { testInflux, type TestInflux } from './influx.js';

export interface SimDevice {
  deviceId: string;
  kind: 'wearable' | 'bp_monitor' | 'glucometer' | 'weight_scale' | 'pulse_oximeter';
  patientId: string;
}

export interface RpmTestHub {
  pki: TestPki;
  influx: TestInflux;
  influxClient: InfluxClient;
  /** The API's clock (sessions, TOTP, the ledger's "now"). */
  clock: TestClock;
  /** The devices' and the ingest's clock: set it to when a device measures. */
  sim: { now: number };
  client: ApiClient;
  /** What enrolledUser/login in harness.ts need. */
  asTestHub: TestHub;
  pipeline: IngestPipeline;
  /** Sends one message of readings at `at` (the simulated clock moves there first: send in time order). */
  send(device: SimDevice, at: number, readings: Record<string, unknown>[]): Promise<void>;
  close(): Promise<void>;
}

export async function startRpmHub(timeZone: string): Promise<RpmTestHub> {
  const env = { VITALGATE_RPM_TIME_ZONE: timeZone, VITALGATE_MAX_READING_AGE_DAYS: '90' };
  const pki = await createTestPki(env);
  const influx = await testInflux();
  const influxClient = new InfluxClient({ url: influx.url, database: influx.database, timeoutMs: 5_000 });
  const config = loadConfig({
    env: {
      VITALGATE_DATA_DIR: pki.dataDir,
      VITALGATE_INFLUX_DB: influx.database,
      VITALGATE_WRITER_FLUSH_MS: '20',
      ...env,
    },
  });
  const sim = { now: Date.now() };
  // Every reading of these tests goes through this pipeline, so rollups cover them all, however
  // far back the simulated devices measured.
  pki.store.meta.set(ROLLUPS_SINCE_KEY, String(sim.now - 100 * 86_400_000));
  const pipeline = new IngestPipeline({
    config,
    store: pki.store,
    keyring: pki.keyring,
    influx: influxClient,
    registry: new Registry(),
    logger: silentLogger(),
    now: () => sim.now,
  });
  pipeline.start();
  const clock = new TestClock();
  const api = await buildApiServer({
    config,
    store: pki.store,
    keyring: pki.keyring,
    authority: pki.authority,
    lifecycle: new DeviceLifecycle(pki.store, pki.authority, {}),
    registry: new Registry(),
    telemetry: new InfluxTelemetryReader(influxClient, pki.keyring, {
      rollupsSince: () => rollupsSince(pki.store.meta),
    }),
    live: liveFeedFromBus(pipeline.bus),
    rateLimits: { perMinute: 100_000, authPerMinute: 100_000 },
    rpmDays: new InfluxSensedDays(influxClient, pki.keyring),
    now: clock.now,
  });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const client = new ApiClient((api.server.address() as { port: number }).port, pki.authority.caBundlePem());
  const seqs = new Map<string, number>();
  return {
    pki,
    influx,
    influxClient,
    clock,
    sim,
    client,
    asTestHub: { users: api.apiContext.users, client, clock } as unknown as TestHub,
    pipeline,
    async send(device, at, readings) {
      sim.now = at + 1_000;
      const seq = (seqs.get(device.deviceId) ?? 0) + 1;
      seqs.set(device.deviceId, seq);
      const result = await pipeline.accept(device, envelope(seq, readings, at));
      if (result.outcome !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(result)}`);
    },
    async close() {
      await api.close();
      await pipeline.stop();
      await influx.drop();
      pki.cleanup();
    },
  };
}
