// `vitalgate simulate --gateways N --devices-per-gateway K`: phone or home-hub gateways with
// Bluetooth devices behind them (docs/GATEWAYS.md). Each gateway is a household: one patient, a
// cuff that measures twice a day (here every --measure-every seconds), a scale, a glucometer with
// its own drifting clock (sent with a coincident time reference), and blood pressures typed in by
// hand (`manual`). Each gateway enrolls with its own key and one-time token and publishes over
// mutual-TLS MQTT on gateways/{gw}/devices/{dev}/telemetry. Faults: a gateway publishing for a
// device not bound to it, a spoofed device identity, a replay through a second gateway; each is
// checked against what the hub recorded.
import mqtt, { type MqttClient } from 'mqtt';
import type { MeasuringKind } from '../core/domain.js';
import { createDeviceKeyRequest } from './device-keys.js';
import type { EnrollmentTransport } from './enrollment-transport.js';

export const GATEWAY_FAULTS = [
  'gateway-unbound-device',
  'gateway-spoofed-identity',
  'gateway-replay',
] as const;
export type GatewayFault = (typeof GATEWAY_FAULTS)[number];

/** Registers and binds on the hub, and reads back what it recorded (the local data dir). */
export interface GatewayProvisioner {
  addPatient(name: string): string;
  register(id: string, kind: MeasuringKind | 'gateway', patientId?: string): void;
  token(id: string): string;
  bind(gatewayId: string, deviceId: string, systemId: string): void;
  /** Codes of the broker's refusals of the gateway's publishes, with the relayed device. */
  refusals(gatewayId: string): { code: string; relayedDevice?: string }[];
  deadLetters(deviceId: string): string[];
}

export interface GatewayFleetOptions {
  gateways: number;
  devicesPerGateway: number;
  durationS: number;
  measureEveryS: number;
  faults: readonly GatewayFault[];
  prefix: string;
  broker: { host: string; port: number };
  caBundle: string;
  enrollment: EnrollmentTransport;
  provisioner: GatewayProvisioner;
}

export interface GatewayFleetSummary {
  gateways: number;
  devices: number;
  published: number;
  manual: number;
  faults: { fault: GatewayFault; expected: string; observed: string; asExpected: boolean }[];
}

interface Relayed {
  deviceId: string;
  kind: MeasuringKind;
  systemId: string;
  manual: boolean;
  /** Device clock minus true time, ms (the glucometer's drifts). */
  clockOffsetMs: number;
  seq: number;
}

interface Household {
  gatewayId: string;
  client: MqttClient;
  devices: Relayed[];
  last?: { deviceId: string; payload: string };
}

const ROLES: readonly { kind: MeasuringKind; manual: boolean }[] = [
  { kind: 'bp_monitor', manual: false },
  { kind: 'weight_scale', manual: false },
  { kind: 'glucometer', manual: false },
  { kind: 'bp_monitor', manual: true },
];

function reading(kind: MeasuringKind, at: number): Record<string, unknown> {
  const wobble = Math.sin(at / 3.6e6);
  switch (kind) {
    case 'bp_monitor':
      return {
        mdc: 150020,
        systolic: Math.round(124 + 8 * wobble),
        diastolic: Math.round(79 + 5 * wobble),
        unit: 'mm[Hg]',
      };
    case 'weight_scale':
      return { mdc: 188736, value: Math.round((78.4 + 0.3 * wobble) * 10) / 10, unit: 'kg' };
    case 'glucometer':
      return { mdc: 160184, value: Math.round(105 + 15 * wobble), unit: 'mg/dL' };
    default:
      return { type: 'body_temperature', value: 36.8, unit: 'Cel' };
  }
}

function envelope(device: Relayed, now: number, systemId = device.systemId): string {
  device.seq += 1;
  const deviceNow = now + device.clockOffsetMs;
  return JSON.stringify({
    v: 1,
    seq: device.seq,
    ts: now,
    device: { systemId, manufacturer: 'Simulated', model: device.kind },
    modality: device.manual ? 'manual' : 'sensed',
    receivedAt: now,
    ...(device.clockOffsetMs !== 0 ? { clock: { device: deviceNow, gateway: now } } : {}),
    readings: [{ ...reading(device.kind, now), ts: device.manual ? now - 60_000 : deviceNow - 1_000 }],
  });
}

function publish(client: MqttClient, topic: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) =>
    client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
  );
}

const topicOf = (gatewayId: string, deviceId: string) =>
  `gateways/${gatewayId}/devices/${deviceId}/telemetry`;

async function enrollAndConnect(options: GatewayFleetOptions, gatewayId: string): Promise<MqttClient> {
  const { keyPem, csrPem } = await createDeviceKeyRequest(gatewayId);
  const reply = await options.enrollment.enroll(options.provisioner.token(gatewayId), csrPem);
  return mqtt.connectAsync({
    host: options.broker.host,
    port: options.broker.port,
    protocol: 'mqtts',
    protocolVersion: 4,
    clientId: gatewayId,
    key: keyPem,
    cert: reply.certificate,
    ca: options.caBundle,
    reconnectPeriod: 0,
  });
}

export async function runGatewayFleet(
  options: GatewayFleetOptions,
  signal: AbortSignal,
): Promise<GatewayFleetSummary> {
  const { provisioner: hub, prefix } = options;
  const run = Date.now().toString(36);
  const households: Household[] = [];
  let published = 0;
  let manual = 0;
  try {
    for (let g = 0; g < options.gateways; g++) {
      const gatewayId = `${prefix}-${run}-gw-${g}`;
      const patientId = hub.addPatient(`Household ${g + 1}`);
      hub.register(gatewayId, 'gateway');
      const devices: Relayed[] = [];
      for (let k = 0; k < options.devicesPerGateway; k++) {
        const role = ROLES[k % ROLES.length]!;
        const deviceId = `${gatewayId}-${role.manual ? 'manual' : role.kind}-${k}`;
        const systemId = ((g + 1) * 0x10000 + k).toString(16).toUpperCase().padStart(16, '0');
        hub.register(deviceId, role.kind, patientId);
        hub.bind(gatewayId, deviceId, systemId);
        const clockOffsetMs = role.kind === 'glucometer' && !role.manual ? -(k + 1) * 97_000 : 0;
        devices.push({ deviceId, kind: role.kind, systemId, manual: role.manual, clockOffsetMs, seq: 0 });
      }
      households.push({ gatewayId, client: await enrollAndConnect(options, gatewayId), devices });
    }
    const end = Date.now() + options.durationS * 1000;
    while (!signal.aborted) {
      const now = Date.now();
      for (const house of households)
        for (const device of house.devices) {
          const payload = envelope(device, now);
          await publish(house.client, topicOf(house.gatewayId, device.deviceId), payload);
          house.last = { deviceId: device.deviceId, payload };
          published += 1;
          if (device.manual) manual += 1;
        }
      if (Date.now() + options.measureEveryS * 1000 > end) break;
      await new Promise((r) => setTimeout(r, options.measureEveryS * 1000));
    }
    const faults = await runFaults(options, households, run);
    return {
      gateways: households.length,
      devices: households.length * options.devicesPerGateway,
      published,
      manual,
      faults,
    };
  } finally {
    await Promise.all(households.map((h) => h.client.endAsync().catch(() => {})));
  }
}

/** What the hub recorded for one fault: the expected code among the codes it recorded, or not. */
function outcome(fault: GatewayFault, expected: string, recorded: readonly string[]) {
  const asExpected = recorded.includes(expected);
  return { fault, expected, observed: asExpected ? expected : recorded.join(',') || 'nothing', asExpected };
}

async function runFaults(options: GatewayFleetOptions, households: Household[], run: string) {
  const hub = options.provisioner;
  const results: GatewayFleetSummary['faults'] = [];
  const first = households[0];
  if (!first || first.devices.length === 0) return results;
  const refusedFor = (gatewayId: string, deviceId: string) =>
    hub
      .refusals(gatewayId)
      .filter((r) => r.relayedDevice === deviceId)
      .map((r) => r.code);
  for (const fault of options.faults) {
    if (fault === 'gateway-unbound-device') {
      const stray = `${options.prefix}-${run}-stray`;
      hub.register(stray, 'pulse_oximeter');
      const device: Relayed = {
        deviceId: stray,
        kind: 'pulse_oximeter',
        systemId: 'FFFFFFFFFFFF0001',
        manual: false,
        clockOffsetMs: 0,
        seq: 0,
      };
      await publish(first.client, topicOf(first.gatewayId, stray), envelope(device, Date.now()));
      results.push(outcome(fault, 'DEVICE_NOT_BOUND', refusedFor(first.gatewayId, stray)));
    } else if (fault === 'gateway-spoofed-identity') {
      const device = first.devices[0]!;
      const spoofed = envelope(device, Date.now(), 'DEADBEEF00000000');
      await publish(first.client, topicOf(first.gatewayId, device.deviceId), spoofed);
      results.push(outcome(fault, 'DEVICE_IDENTITY_MISMATCH', hub.deadLetters(device.deviceId)));
    } else {
      // A second gateway replays the first one's last message for its device.
      const second = households[1];
      const last = first.last;
      if (!second || !last) {
        results.push(outcome(fault, 'DEVICE_BOUND_ELSEWHERE', ['needs 2 gateways and a reading']));
        continue;
      }
      await publish(second.client, topicOf(second.gatewayId, last.deviceId), last.payload);
      results.push(outcome(fault, 'DEVICE_BOUND_ELSEWHERE', refusedFor(second.gatewayId, last.deviceId)));
    }
  }
  return results;
}
