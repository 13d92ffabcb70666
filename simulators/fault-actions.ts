// What a misbehaving or stolen device does on the wire, one function per fault. Each uses the
// fault device's real credentials (or a copy of them, or a back-dated certificate for its key)
// over raw MQTT, and returns what the device itself saw. What the hub did is read back elsewhere.
import type { MqttClient } from 'mqtt';
import {
  closeConnection,
  openConnection,
  publishAcked,
  type ConnectFailure,
  type ConnectionTarget,
} from './device-connection.js';
import type { DeviceCredentials } from './device-state.js';

export interface FaultDevice {
  deviceId: string;
  credentials: DeviceCredentials;
  /** Its usual source address, if the fleet gives it one. */
  localAddress?: string | undefined;
}

type Outcome = { client: MqttClient } | { failure: ConnectFailure };

export async function tryConnect(
  target: ConnectionTarget,
  device: FaultDevice,
  overrides: { clientId?: string; certPem?: string; localAddress?: string | undefined } = {},
): Promise<Outcome> {
  try {
    const client = await openConnection(
      { ...target, localAddress: 'localAddress' in overrides ? overrides.localAddress : device.localAddress },
      {
        ...device.credentials,
        deviceId: overrides.clientId ?? device.deviceId,
        certPem: overrides.certPem ?? device.credentials.certPem,
      },
    );
    return { client };
  } catch (err) {
    return { failure: err as ConnectFailure };
  }
}

export function describeConnect(outcome: Outcome): string {
  return 'client' in outcome
    ? 'connected (CONNACK accepted)'
    : `connection ${outcome.failure.refused ? 'refused' : 'failed'}: ${outcome.failure.code}`;
}

/** Ends a fault session (DISCONNECT, or by force). */
export const end = closeConnection;

export function envelope(seq: number, readings: unknown[], ts = Date.now()): string {
  return JSON.stringify({ v: 1, seq, ts, readings });
}

export const pulse = (hr = 72, spo2 = 97) => [
  { type: 'spo2', value: spo2, unit: '%' },
  { type: 'heart_rate', value: hr, unit: '/min' },
];

const telemetry = (deviceId: string) => `devices/${deviceId}/telemetry`;

/** Publishes each payload QoS 1 in turn; reports how many were acknowledged before a close. */
async function publishAll(
  client: MqttClient,
  items: { topic: string; payload: string; retain?: boolean }[],
): Promise<string> {
  let acked = 0;
  for (const item of items) {
    if (!(await publishAcked(client, item.topic, item.payload, { retain: item.retain ?? false }))) break;
    acked += 1;
  }
  const closed = !client.connected;
  return `${acked} of ${items.length} publishes acknowledged${closed ? '; the hub closed the connection' : ''}`;
}

async function session(
  target: ConnectionTarget,
  device: FaultDevice,
  work: (client: MqttClient) => Promise<string[]>,
): Promise<string[]> {
  const outcome = await tryConnect(target, device);
  if (!('client' in outcome)) return [describeConnect(outcome)];
  try {
    return await work(outcome.client);
  } finally {
    await end(outcome.client);
  }
}

export function sendGarbage(target: ConnectionTarget, device: FaultDevice): Promise<string[]> {
  return session(target, device, async (client) => [
    await publishAll(client, [
      { topic: telemetry(device.deviceId), payload: 'this is not JSON {' },
      { topic: telemetry(device.deviceId), payload: JSON.stringify({ v: 1, seq: 1 }) },
      { topic: telemetry(device.deviceId), payload: envelope(2, pulse(999)) },
    ]),
  ]);
}

export function publishWrongTopics(
  target: ConnectionTarget,
  device: FaultDevice,
  otherDeviceId: string,
): Promise<string[]> {
  const payload = envelope(1, pulse());
  return session(target, device, async (client) => [
    await publishAll(client, [
      { topic: telemetry(otherDeviceId), payload },
      { topic: `devices/${device.deviceId}/firmware`, payload },
      { topic: 'vitalgate/broadcast', payload },
    ]),
  ]);
}

export function subscribeWildcard(target: ConnectionTarget, device: FaultDevice): Promise<string[]> {
  return session(target, device, async (client) => {
    const lines: string[] = [];
    for (const filter of ['devices/#', 'devices/+/telemetry']) {
      try {
        const granted = await client.subscribeAsync(filter, { qos: 1 });
        const qos = granted[0]?.qos;
        lines.push(`SUBSCRIBE ${filter}: ${qos === 128 ? 'SUBACK failure (0x80)' : `granted QoS ${qos}`}`);
      } catch (err) {
        // mqtt.js turns a SUBACK failure (0x80) into an error.
        const message = (err as Error).message;
        lines.push(
          `SUBSCRIBE ${filter}: ${/subscribe error/i.test(message) ? 'SUBACK failure (0x80)' : message}`,
        );
      }
    }
    return lines;
  });
}

export function replaySeq(target: ConnectionTarget, device: FaultDevice): Promise<string[]> {
  const t = Date.now();
  return session(target, device, async (client) => [
    await publishAll(client, [
      { topic: telemetry(device.deviceId), payload: envelope(1, pulse(72), t) },
      { topic: telemetry(device.deviceId), payload: envelope(1, pulse(72), t) }, // the same again
      { topic: telemetry(device.deviceId), payload: envelope(2, pulse(73), t + 1000) },
      { topic: telemetry(device.deviceId), payload: envelope(1, pulse(190, 80), t + 2000) }, // an old seq, new values
    ]),
  ]);
}

export function skewClock(target: ConnectionTarget, device: FaultDevice): Promise<string[]> {
  const future = Date.now() + 2 * 3_600_000;
  return session(target, device, async (client) => [
    `envelope stamped 2 h ahead; ${await publishAll(client, [
      { topic: telemetry(device.deviceId), payload: envelope(1, pulse(), future) },
    ])}`,
  ]);
}

export function publishRetained(target: ConnectionTarget, device: FaultDevice): Promise<string[]> {
  return session(target, device, async (client) => [
    `retain flag set; ${await publishAll(client, [
      { topic: telemetry(device.deviceId), payload: envelope(1, pulse()), retain: true },
    ])}`,
  ]);
}

/**
 * A flood: the device first behaves (quietly connected for `idleMs`, so the hub's behaviour
 * monitor learns its normal rate), then, on the same session, streams just under the per-device
 * rate limit (what the behaviour monitor looks for) until the hub closes the connection, or
 * `sustainMs` passes without it (then the hub failed to act). One session from start to end: the
 * device is online whenever the monitor's verdict comes, so the quarantine ends this session
 * (it never lands in a gap between two). Rate limiting of a burst is the broker's own test.
 * Status messages, so no telemetry is stored.
 */
export async function flood(
  target: ConnectionTarget,
  device: FaultDevice,
  timing: { idleMs: number; sustainMs: number },
  ratePerSecond = 40,
): Promise<string[]> {
  const status = JSON.stringify({ v: 1, firmware: '6.6.6', battery: 0.5, uptimeS: 1 });
  const topic = `devices/${device.deviceId}/status`;
  const connected = await tryConnect(target, device);
  if (!('client' in connected)) return [describeConnect(connected)];
  const client = connected.client;
  let closed = false;
  client.once('close', () => (closed = true));
  client.publish(topic, status, { qos: 1 });
  await sleep(timing.idleMs);
  if (closed) return ['the hub closed the quiet session before the flood'];
  // Paced by the clock, not by the timer: on a busy machine a timer fires late, and the device
  // catches up (in bursts of at most half a second's worth, within the hub's per-device bucket), so
  // the rate the hub sees is the rate asked for.
  let sent = 0;
  const start = Date.now();
  const deadline = start + timing.sustainMs;
  while (!closed && Date.now() < deadline) {
    const due = Math.floor(((Date.now() - start) * ratePerSecond) / 1000) + 1;
    for (let n = 0; n < Math.min(due - sent, ratePerSecond / 2) && !closed; n++) {
      client.publish(topic, status, { qos: 0 });
      sent += 1;
    }
    await sleep(1000 / ratePerSecond);
  }
  const line = `steady ${ratePerSecond} msg/s: ${sent} sent, ${closed ? 'the hub closed the connection' : `still connected after ${timing.sustainMs} ms`}`;
  await end(client);
  return [line];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
