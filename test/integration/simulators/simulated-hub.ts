// A whole hub in the test process for the simulator tests: the test PKI, the durable ingest
// pipeline into a real InfluxDB, the mutual-TLS broker in front of it, the behaviour monitor on a
// short window, and one metrics registry for broker and ingest, read back the way the simulators
// read a hub's /metrics. The simulators provision through the data dir (LocalHubProvisioner).
import { Registry } from 'prom-client';
import { loadConfig, type HubConfig } from '../../../core/config.js';
import { InfluxClient } from '../../../core/influx.js';
import { silentLogger } from '../../../core/logger.js';
import { DeviceBroker } from '../../../broker/device-broker.js';
import { DeviceRegistry } from '../../../dashboard-api/services/device-registry.js';
import { DeviceBehaviourMonitor } from '../../../hub/monitoring/device-behaviour.js';
import { IngestPipeline } from '../../../ingest/pipeline.js';
import { DeviceLifecycle } from '../../../pki/lifecycle.js';
import { InProcessEnrollment } from '../../../simulators/enrollment-transport.js';
import { CombinedReadback, parseMetrics, type HubReadback } from '../../../simulators/hub-readback.js';
import { LocalHubProvisioner } from '../../../simulators/local-hub.js';
import { createTestPki, type TestPki } from '../../support/hub-pki.js';
import { testInflux, type TestInflux } from '../../support/influx.js';

export interface SimulatedHub {
  pki: TestPki;
  influx: TestInflux;
  influxClient: InfluxClient;
  config: HubConfig;
  broker: DeviceBroker;
  port: number;
  pipeline: IngestPipeline;
  provisioner: LocalHubProvisioner;
  enrollment: InProcessEnrollment;
  readback: HubReadback;
  close(): Promise<void>;
}

export async function startSimulatedHub(env: Record<string, string> = {}): Promise<SimulatedHub> {
  const pki = await createTestPki();
  const influx = await testInflux();
  const config = loadConfig({
    env: {
      VITALGATE_DATA_DIR: pki.dataDir,
      VITALGATE_INFLUX_DB: influx.database,
      VITALGATE_WRITER_FLUSH_MS: '20',
      VITALGATE_BEHAVIOUR_WINDOW_SECONDS: '2',
      ...env,
    },
  });
  const registry = new Registry();
  const influxClient = new InfluxClient({ url: influx.url, database: influx.database, timeoutMs: 2_000 });
  const pipeline = new IngestPipeline({
    config,
    store: pki.store,
    keyring: pki.keyring,
    influx: influxClient,
    registry,
    logger: silentLogger(),
  });
  pipeline.start();
  const broker = new DeviceBroker({
    store: pki.store,
    limits: config,
    tls: {
      ...pki.authority.serverTls(),
      ca: pki.authority.caBundlePem(),
      crl: pki.authority.tlsRevocationPem(),
    },
    registry,
    logger: silentLogger(),
    intake: pipeline,
  });
  pki.authority.onRevocationListChange(() => broker.updateCrl(pki.authority.tlsRevocationPem()));
  const port = await broker.start({ host: '127.0.0.1', port: 0 });
  const lifecycle = new DeviceLifecycle(pki.store, pki.authority, { kicker: broker });
  const monitor = new DeviceBehaviourMonitor({
    config,
    store: pki.store,
    lifecycle,
    counters: () => broker.metrics.snapshots(),
  });
  const timer = setInterval(() => void monitor.tick(), config.behaviourWindowSeconds * 1000);
  const provisioner = new LocalHubProvisioner({
    config,
    store: pki.store,
    keyring: pki.keyring,
    registrar: new DeviceRegistry(pki.store, pki.tokens, config, broker),
    authority: async () => pki.authority,
    actor: 'test',
  });
  return {
    pki,
    influx,
    influxClient,
    config,
    broker,
    port,
    pipeline,
    provisioner,
    enrollment: new InProcessEnrollment({
      enrollment: pki.enrollment,
      authority: pki.authority,
      mqtt: { host: '127.0.0.1', port },
    }),
    readback: new CombinedReadback(
      { source: 'registry', metrics: async () => parseMetrics(await registry.metrics()) },
      provisioner.records,
    ),
    async close() {
      clearInterval(timer);
      await broker.stop();
      await pipeline.stop();
      await influx.drop();
      pki.cleanup();
    },
  };
}
