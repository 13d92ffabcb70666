// The fleet's plan, before anything connects: device ids (`<prefix>-<kind>-<nnn>`), kinds in
// turn, patients (one device of each kind per patient), loopback source addresses, the scenario
// each patient plays, and the checks on the runner's options.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { MEASURING_KINDS, type DeviceKind } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import type { FleetOptions } from './fleet.js';
import { SCENARIO_NAMES, SCENARIOS, type ScenarioName } from './scenarios.js';

export const KIND_TAG: Record<DeviceKind, string> = {
  wearable: 'wear',
  pulse_oximeter: 'ox',
  bp_monitor: 'bp',
  glucometer: 'glu',
  weight_scale: 'scale',
  thermometer: 'therm',
  gateway: 'gw',
};

/** Devices' state for one hub: keyed by its CA bundle, so another hub never sees these keys. */
export function fleetStateDir(root: string, caBundlePem: string): string {
  return join(root, createHash('sha256').update(caBundlePem.trim()).digest('hex').slice(0, 16));
}

/** Loopback source addresses: the fleet on 127.64/16, fault devices on 127.65/16, elsewhere 127.66. */
export const sourceAddress = {
  device: (i: number) => `127.64.${Math.floor(i / 250) % 256}.${(i % 250) + 1}`,
  fault: (i: number) => `127.65.0.${(i % 250) + 1}`,
  foreign: (i: number) => `127.66.0.${(i % 250) + 1}`,
};

/** Whether this host can use `address` as a source (Linux routes all of 127/8 to lo). */
export function canUseAddress(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}

/** A planned fleet member: who it is, whom it belongs to, where it connects from. */
export interface PlannedDevice {
  deviceId: string;
  kind: DeviceKind;
  patientLabel: string;
  /** The patient's place in the fleet (0, 1, ...). */
  patientIndex: number;
  localAddress: string | undefined;
}

/** The scenario patient `index` plays. */
export function scenarioOf(scenario: ScenarioName | 'mix', index: number): ScenarioName {
  return scenario === 'mix' ? SCENARIO_NAMES[index % SCENARIO_NAMES.length]! : scenario;
}

/** The alert rules the scenario should make the hub raise, given the devices that play it. */
export function expectedAlerts(
  scenario: ScenarioName | 'mix' | undefined,
  members: readonly (PlannedDevice & { enrolled: boolean })[],
): string[] {
  if (!scenario) return [];
  const rules = new Set<string>();
  for (const m of members) {
    const s = SCENARIOS[scenarioOf(scenario, m.patientIndex)];
    if (m.enrolled && s.appliesTo.includes(m.kind)) rules.add(s.expectedAlert);
  }
  return [...rules].sort();
}

export function validate(options: FleetOptions): void {
  const usage = (message: string) => new VitalGateError('USAGE', message);
  if (
    !options.premade &&
    !(Number.isInteger(options.devices) && options.devices >= 1 && options.devices <= 10_000)
  )
    throw usage('--devices must be a whole number from 1 to 10000');
  if (
    options.kinds.length === 0 ||
    options.kinds.some((k) => !(MEASURING_KINDS as readonly string[]).includes(k))
  )
    throw usage(`--kinds takes ${MEASURING_KINDS.join(', ')}`);
  if (!(options.rateHz >= 0.05 && options.rateHz <= 50))
    throw usage('--rate must be 0.05 to 50 messages per second');
  if (options.durationS !== undefined && !(options.durationS > 0)) throw usage('--duration must be positive');
  if (options.prefix !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_-]{0,20}$/.test(options.prefix))
    throw usage('--prefix takes 1-21 letters, digits, _ or -');
}

/** Device ids, kinds, patients and source addresses of the fleet. */
export function plan(options: FleetOptions): PlannedDevice[] {
  const { kinds } = options;
  const prefix = options.prefix ?? 'sim';
  const perKind = new Map<DeviceKind, number>();
  const source = options.premade
    ? options.premade.slice(0, options.devices || undefined)
    : Array.from({ length: options.devices }, () => ({ deviceId: undefined, kind: undefined }));
  return source.map((item, i) => {
    const kind = item.kind ?? kinds[i % kinds.length]!;
    const n = (perKind.get(kind) ?? 0) + 1;
    perKind.set(kind, n);
    // One patient per group of kinds: each patient wears one device of each kind.
    const patientIndex = Math.floor(i / kinds.length);
    return {
      deviceId: item.deviceId ?? `${prefix}-${KIND_TAG[kind]}-${String(n).padStart(3, '0')}`,
      kind,
      patientLabel: `p${String(patientIndex + 1).padStart(3, '0')}`,
      patientIndex,
      localAddress: sourceAddress.device(i),
    };
  });
}
