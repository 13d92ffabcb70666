// The fleet runner: N simulated devices of the chosen kinds, each with its own directory, key and
// (on loopback) source address, enrolled through a provisioner, publishing what their signal
// models measure at the chosen rate, optionally playing a clinical scenario and injecting faults.
// It ends with a summary: sent, acked, buffered and refused counts, PUBACK latency percentiles,
// the alerts the hub raised and what the hub did with each fault, read back from the hub.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceKind } from '../core/domain.js';
import { VitalGateError, describeError } from '../core/errors.js';
import type { BackoffPolicy } from './backoff.js';
import { DeviceClient } from './device-client.js';
import { DeviceStateDir } from './device-state.js';
import type { EnrollmentTransport } from './enrollment-transport.js';
import { prepareFault, type FaultName, type FaultReport, type PreparedFault } from './faults.js';
import type { FleetProvisioner } from './fleet-provisioning.js';
import { LatencySample, type FleetProgress, type FleetSummary } from './fleet-summary.js';
import { fleetHubSection, fleetAlerts } from './fleet-readback.js';
import { NO_READBACK, type HubReadback, type MetricSamples } from './hub-readback.js';
import {
  expectedAlerts,
  plan,
  scenarioOf,
  sourceAddress,
  canUseAddress,
  validate,
  type PlannedDevice,
} from './fleet-plan.js';
import type { ScenarioName } from './scenarios.js';
import { createSignalModel, type SignalModel } from './signals/index.js';

export interface FleetOptions {
  devices: number;
  kinds: readonly DeviceKind[];
  /** Messages per second per device. */
  rateHz: number;
  /** Seconds of publishing; without it the fleet runs until stop(). */
  durationS?: number | undefined;
  /** A scenario for every device it fits, or `mix`: patient k plays the k-th scenario (in turn). */
  scenario?: ScenarioName | 'mix' | undefined;
  /** Seconds after the start when the scenario takes hold. Default 5. */
  scenarioDelayS?: number;
  faults?: readonly FaultName[];
  /** Seconds after the start when the faults begin (one after another). Default 3. */
  faultDelayS?: number;
  seed?: string | number;
  /** Device ids are `<prefix>-<kind>-<nnn>`. Default `sim`. */
  prefix?: string;
  /** Device directories and the fleet's patients live here (one per hub: see fleetStateDir). */
  stateDir: string;
  /** Measuring devices (BP, glucose, scale, thermometer) measure every N s. Default 10; 0 = daily. */
  measureEveryS?: number;
  provisioner: FleetProvisioner;
  /** The enrollment transport of a device with this source address. */
  enrollment(localAddress: string | undefined): EnrollmentTransport;
  /** Where devices connect, instead of the endpoint named at enrollment. */
  broker?: { host: string; port: number };
  readback?: HubReadback;
  /** Give each device its own loopback source address (like a real fleet). Default: when possible. */
  spreadSources?: boolean;
  backoff?: Partial<BackoffPolicy>;
  /** How long the end of a run waits for outboxes to empty. Default 30 s. */
  drainTimeoutS?: number;
  /** The hub's behaviour-monitor window (VITALGATE_BEHAVIOUR_WINDOW_SECONDS). Default 10. */
  behaviourWindowS?: number;
  /** Pre-made tokens name the devices: their ids and kinds replace the generated ones. */
  premade?: readonly { deviceId: string; kind?: DeviceKind | undefined }[];
  onProgress?(progress: FleetProgress): void;
}

interface Member extends PlannedDevice {
  client?: DeviceClient;
  model?: SignalModel;
  timer?: NodeJS.Timeout;
}

export class Fleet {
  private readonly members: Member[];
  private readonly failed: { deviceId: string; code: string }[] = [];
  private readonly latency = new LatencySample();
  private readonly faults: PreparedFault[] = [];
  private readonly reports: FaultReport[] = [];
  private readonly readback: HubReadback;
  private faultRun: Promise<void> | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private bufferedPeak = 0;
  private readonly refusedByCode: Record<string, number> = {};
  private metricsBefore: MetricSamples | undefined;
  private spread = false;
  private ended!: () => void;
  /** Resolves once the duration has passed (or stop() was called). */
  readonly finished: Promise<void>;

  private constructor(private readonly options: FleetOptions) {
    validate(options);
    this.readback = options.readback ?? NO_READBACK;
    this.members = plan(options);
    this.finished = new Promise((resolve) => (this.ended = resolve));
  }

  /** Plans the fleet, registers and enrolls its devices (8 at a time) and the fault devices. */
  static async prepare(options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(options);
    await fleet.enrollAll();
    if (fleet.devices.length === 0) {
      const first = fleet.failed[0];
      throw new VitalGateError(
        'FLEET_EMPTY',
        `no device could join the hub${first ? `: ${first.deviceId}: ${first.code}` : ''}`,
      );
    }
    return fleet;
  }

  get devices(): readonly DeviceClient[] {
    return this.members.flatMap((m) => (m.client ? [m.client] : []));
  }

  private async enrollAll(): Promise<void> {
    const { options } = this;
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
    this.spread = (options.spreadSources ?? true) && (await canUseAddress(sourceAddress.device(0)));
    const patients = await this.patients();
    let next = 0;
    const worker = async () => {
      while (next < this.members.length) {
        const m = this.members[next++]!;
        if (!this.spread) m.localAddress = undefined;
        try {
          m.client = await this.open(m, patients[m.patientLabel]);
        } catch (err) {
          this.failed.push({
            deviceId: m.deviceId,
            code: (err as { code?: string }).code ?? describeError(err),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, this.members.length) }, worker));
    for (const [i, fault] of (options.faults ?? []).entries()) {
      this.faults.push(await prepareFault(fault, this.faultContext(i)));
    }
  }

  /** The fleet's patients (label -> hub patient id), created once and remembered in fleet.json. */
  private async patients(): Promise<Record<string, string | undefined>> {
    const file = join(this.options.stateDir, 'fleet.json');
    const known = existsSync(file)
      ? ((JSON.parse(readFileSync(file, 'utf8')) as { patients?: Record<string, string> }).patients ?? {})
      : {};
    if (!this.options.provisioner.canRegister) return known;
    for (const label of new Set(this.members.map((m) => m.patientLabel))) {
      if (!known[label]) {
        const id = await this.options.provisioner.createPatient(label);
        if (id) known[label] = id;
      }
    }
    writeFileSync(file, JSON.stringify({ v: 1, patients: known }, null, 2), { mode: 0o600 });
    return known;
  }

  private async open(
    m: Pick<Member, 'deviceId' | 'kind' | 'localAddress'>,
    patientId: string | undefined,
    allowedNetworks?: string[],
  ): Promise<DeviceClient> {
    const dir = join(this.options.stateDir, 'devices', m.deviceId);
    const enrolled =
      existsSync(dir) && DeviceStateDir.open(dir, m.deviceId, m.kind).credentials() !== undefined;
    const token = enrolled
      ? undefined
      : await this.options.provisioner.token({
          deviceId: m.deviceId,
          kind: m.kind,
          patientId,
          allowedNetworks,
        });
    return DeviceClient.open({
      deviceId: m.deviceId,
      kind: m.kind,
      dir,
      enrollment: this.options.enrollment(m.localAddress),
      token,
      broker: this.options.broker,
      localAddress: m.localAddress,
      backoff: this.options.backoff,
    });
  }

  private faultContext(index: number) {
    const { options } = this;
    const runId = Date.now().toString(36);
    const deviceIdOf = (fault: FaultName) =>
      `${options.prefix ?? 'sim'}-fault-${fault.replace(/_/g, '-')}-${runId}`;
    const home = this.spread ? sourceAddress.fault(index) : undefined;
    return {
      target: options.broker ?? this.devices[0]?.credentials?.mqtt ?? { host: 'localhost', port: 8883 },
      provisioner: options.provisioner,
      readback: this.readback,
      otherDeviceId: this.members[0]?.deviceId ?? 'sim-other',
      behaviourWindowS: options.behaviourWindowS ?? 10,
      addresses: () => (home ? { home, foreign: sourceAddress.foreign(index) } : undefined),
      enroll: async (fault: FaultName, allowedNetworks?: string[]) => {
        const member = { deviceId: deviceIdOf(fault), kind: 'pulse_oximeter' as const, localAddress: home };
        const client = await this.open(member, undefined, allowedNetworks);
        return { deviceId: member.deviceId, credentials: client.credentials!, localAddress: home };
      },
    };
  }

  start(): void {
    const { options } = this;
    this.startedAt = Date.now();
    void this.readback.metrics().then((m) => (this.metricsBefore = m));
    const periodMs = 1000 / options.rateHz;
    const live = this.members.filter((m) => m.client);
    for (const [i, m] of live.entries()) {
      m.model = createSignalModel(m.kind, {
        seed: options.seed ?? 1,
        deviceId: m.deviceId,
        patientId: m.patientLabel,
        ecgChunkS: Math.min(20, Math.max(1, 1 / options.rateHz)),
        ...(options.measureEveryS === 0 ? {} : { measurementIntervalS: options.measureEveryS ?? 10 }),
        ...(options.scenario
          ? {
              scenario: {
                name: scenarioOf(options.scenario, m.patientIndex),
                startT: this.startedAt + (options.scenarioDelayS ?? 5) * 1000,
              },
            }
          : {}),
      });
      m.client!.on('acked', (_seq, latencyMs) => this.latency.add(latencyMs));
      m.client!.on('refused', (code) => (this.refusedByCode[code] = (this.refusedByCode[code] ?? 0) + 1));
      m.client!.start();
      const tick = () => {
        const t = Date.now();
        const readings = m.model!.next(t);
        if (readings.length > 0) m.client!.record(readings, t);
      };
      // Staggered over one period, so the fleet does not publish in lockstep.
      m.timer = setTimeout(
        () => {
          tick();
          m.timer = setInterval(tick, periodMs);
        },
        (i / live.length) * periodMs,
      );
    }
    if (this.faults.length > 0) {
      this.faultRun = (async () => {
        await new Promise((r) => setTimeout(r, (options.faultDelayS ?? 3) * 1000));
        for (const fault of this.faults) this.reports.push(await fault.run());
      })();
    }
    this.progressTimer = setInterval(() => {
      const p = this.progress();
      this.bufferedPeak = Math.max(this.bufferedPeak, p.buffered);
      options.onProgress?.(p);
    }, 1000);
    if (options.durationS !== undefined)
      this.endTimer = setTimeout(() => this.ended(), options.durationS * 1000);
  }

  progress(): FleetProgress {
    const devices = this.devices;
    const sum = (f: (d: DeviceClient) => number) => devices.reduce((n, d) => n + f(d), 0);
    return {
      elapsedS: this.startedAt ? (Date.now() - this.startedAt) / 1000 : 0,
      durationS: this.options.durationS,
      devices: devices.length,
      online: devices.filter((d) => d.status === 'online').length,
      sent: sum((d) => d.counters.recorded),
      acked: sum((d) => d.counters.acked),
      buffered: sum((d) => d.buffered),
      refused: sum((d) => d.counters.refused),
      faultsDone: this.reports.length,
      faultsTotal: this.faults.length,
    };
  }

  /**
   * Stops publishing, lets the faults finish, drains the outboxes (for `drainTimeoutS`, by default
   * the fleet's own), reads back, disconnects.
   */
  async stop(options: { drainTimeoutS?: number } = {}): Promise<FleetSummary> {
    this.ended();
    if (this.endTimer) clearTimeout(this.endTimer);
    for (const m of this.members) {
      clearTimeout(m.timer);
      clearInterval(m.timer);
    }
    await this.faultRun;
    this.bufferedPeak = Math.max(this.bufferedPeak, this.progress().buffered);
    const drainMs = (options.drainTimeoutS ?? this.options.drainTimeoutS ?? 30) * 1000;
    await Promise.all(this.devices.map((d) => d.drain(drainMs)));
    if (this.progressTimer) clearInterval(this.progressTimer);
    const durationS = (Date.now() - this.startedAt) / 1000;
    const deviceIds = new Set(this.members.map((m) => m.deviceId));
    const alerts = await fleetAlerts(this.readback, this.startedAt, deviceIds, this.metricsBefore);
    const hub = await fleetHubSection(this.readback, this.metricsBefore);
    const online = this.devices.filter((d) => d.status === 'online').length;
    await Promise.all(this.devices.map((d) => d.stop()));
    return this.summary(durationS, online, alerts, hub);
  }

  private summary(
    durationS: number,
    online: number,
    alerts: { seen: Record<string, number>; source: string },
    hub: FleetSummary['hub'],
  ): FleetSummary {
    const devices = this.devices;
    const sum = (f: (d: DeviceClient) => number) => devices.reduce((n, d) => n + f(d), 0);
    const byKind: Record<string, number> = {};
    for (const d of devices) byKind[d.kind] = (byKind[d.kind] ?? 0) + 1;
    const scenario = this.options.scenario;
    return {
      devices: {
        planned: this.members.length,
        enrolled: devices.length,
        failed: this.failed,
        byKind,
        online,
        disabled: devices.filter((d) => d.disabled).length,
        wiped: devices.filter((d) => d.status === 'wiped').length,
      },
      durationS: Math.round(durationS * 10) / 10,
      messages: {
        sent: sum((d) => d.counters.recorded),
        acked: sum((d) => d.counters.acked),
        resent: sum((d) => d.counters.resent),
        buffered: sum((d) => d.buffered),
        bufferedPeak: this.bufferedPeak,
        dropped: sum((d) => d.counters.dropped),
      },
      readings: {
        sent: sum((d) => d.counters.recordedReadings),
        acked: sum((d) => d.counters.ackedReadings),
        buffered: sum((d) => d.bufferedReadings),
        dropped: sum((d) => d.counters.droppedReadings),
      },
      refused: { connects: sum((d) => d.counters.refused), byCode: { ...this.refusedByCode } },
      reconnects: sum((d) => Math.max(0, d.counters.connects - 1)),
      latencyMs: this.latency.summary(),
      commands: {
        done: sum((d) => d.counters.commandsDone),
        rejected: sum((d) => d.counters.commandsRejected),
        ignored: sum((d) => d.counters.commandsIgnored),
      },
      alerts: {
        scenario: scenario ?? null,
        expected: expectedAlerts(
          scenario,
          this.members.map((m) => ({ ...m, enrolled: m.client !== undefined })),
        ),
        ...alerts,
      },
      hub,
      faults: this.reports,
    };
  }
}

/** Prepares, runs until the duration passes (or `signal` aborts), stops and summarises. */
export async function runFleet(options: FleetOptions, signal?: AbortSignal): Promise<FleetSummary> {
  const fleet = await Fleet.prepare(options);
  fleet.start();
  const interrupted = await new Promise<boolean>((resolve) => {
    if (signal?.aborted) return resolve(true);
    void fleet.finished.then(() => resolve(false));
    signal?.addEventListener('abort', () => resolve(true), { once: true });
  });
  // Interrupted: whoever stopped it wants it over soon (what is left stays in the outboxes).
  return fleet.stop(interrupted ? { drainTimeoutS: Math.min(5, options.drainTimeoutS ?? 30) } : {});
}

export { fleetStateDir, scenarioOf, sourceAddress } from './fleet-plan.js';
