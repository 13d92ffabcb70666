// Helpers shared by the simulator integration tests (not a test file itself): the real broker on
// a chosen port (so it can be stopped and started again where devices expect it), devices
// registered in the test PKI with a one-time token, and in-process enrollment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig } from '../../../core/config.js';
import type { DeviceKind } from '../../../core/domain.js';
import { silentLogger } from '../../../core/logger.js';
import { DeviceBroker } from '../../../broker/device-broker.js';
import { DeviceClient, type DeviceClientOptions } from '../../../simulators/device-client.js';
import { InProcessEnrollment } from '../../../simulators/enrollment-transport.js';
import type { TestPki } from '../../support/hub-pki.js';
import { ScriptedIntake } from '../broker/harness.js';

export class RestartableBroker {
  broker: DeviceBroker | undefined;
  port = 0;
  readonly intake = new ScriptedIntake();
  registry = new Registry();

  constructor(
    private readonly pki: TestPki,
    private readonly env: Record<string, string> = {},
  ) {
    pki.authority.onRevocationListChange(() => this.broker?.updateCrl(pki.authority.tlsRevocationPem()));
  }

  async start(): Promise<number> {
    const config = loadConfig({ env: { VITALGATE_DATA_DIR: this.pki.dataDir, ...this.env } });
    this.registry = new Registry();
    this.broker = new DeviceBroker({
      store: this.pki.store,
      limits: config,
      tls: {
        ...this.pki.authority.serverTls(),
        ca: this.pki.authority.caBundlePem(),
        crl: this.pki.authority.tlsRevocationPem(),
      },
      registry: this.registry,
      logger: silentLogger(),
      intake: this.intake,
    });
    this.port = await this.broker.start({ host: '127.0.0.1', port: this.port });
    return this.port;
  }

  async stop(): Promise<void> {
    const broker = this.broker;
    this.broker = undefined;
    await broker?.stop();
  }

  /** Seqs of the telemetry that reached the intake from one device, in arrival order. */
  seqsOf(deviceId: string): number[] {
    return this.intake.telemetry
      .filter((m) => m.deviceId === deviceId)
      .map((m) => (JSON.parse(m.payload) as { seq: number }).seq);
  }
}

export function tempDir(prefix = 'vg-sim-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function inProcessEnrollment(pki: TestPki, port: () => number): InProcessEnrollment {
  return new InProcessEnrollment({
    enrollment: pki.enrollment,
    authority: pki.authority,
    get mqtt() {
      return { host: '127.0.0.1', port: port() };
    },
  });
}

/** Registers a device in the hub and opens a simulated device that enrolls with its token. */
export async function enrolledDevice(
  pki: TestPki,
  broker: RestartableBroker,
  root: string,
  deviceId: string,
  kind: DeviceKind = 'pulse_oximeter',
  extra: Partial<DeviceClientOptions> = {},
): Promise<DeviceClient> {
  if (!pki.store.devices.get(deviceId)) pki.store.devices.add({ id: deviceId, kind, patientId: null });
  const { token } = pki.tokens.issue(deviceId, 3_600_000, 'test');
  return DeviceClient.open({
    deviceId,
    kind,
    dir: join(root, deviceId),
    enrollment: inProcessEnrollment(pki, () => broker.port),
    token,
    broker: { host: '127.0.0.1', port: broker.port },
    backoff: { initialMs: 200, maxMs: 1_000, floorMs: 50 },
    ...extra,
  });
}

export async function until(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const oximetry = (spo2 = 97, hr = 70) => [
  { type: 'spo2' as const, value: spo2, unit: '%' },
  { type: 'heart_rate' as const, value: hr, unit: '/min' },
];
