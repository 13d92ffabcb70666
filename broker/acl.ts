// Least-privilege topics: a device may publish only to its own telemetry, status and
// commands/ack topics, and subscribe only to its own commands topic. Nothing else: no
// wildcards, no other device's topics, no $SYS, no retained messages, no wills elsewhere.
// Exact string comparison against topics built once per session: no parsing per message.

export type PublishKind = 'telemetry' | 'status' | 'ack';

export interface DeviceTopics {
  telemetry: string;
  status: string;
  ack: string;
  commands: string;
}

/**
 * A gateway's own topics are a device's (status, commands, commands/ack: every command works on
 * it as on any device) but it sends no telemetry of its own: its telemetry topic matches nothing.
 */
export function gatewayOwnTopics(gatewayId: string): DeviceTopics {
  return { ...deviceTopics(gatewayId), telemetry: '' };
}

/** `gateways/{gw}/devices/`: what every topic a gateway relays on starts with. */
export function gatewayRelayPrefix(gatewayId: string): string {
  return `gateways/${gatewayId}/devices/`;
}

const RELAYED_DEVICE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * `gateways/{gw}/devices/{dev}/telemetry|status` under the gateway's prefix: the device id and
 * kind, or undefined for any other topic (wildcards included: they match no device id).
 */
export function relayedTopic(
  prefix: string,
  topic: string,
): { deviceId: string; kind: 'telemetry' | 'status' } | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  const slash = topic.indexOf('/', prefix.length);
  if (slash < 0) return undefined;
  const deviceId = topic.slice(prefix.length, slash);
  const rest = topic.slice(slash + 1);
  if ((rest !== 'telemetry' && rest !== 'status') || !RELAYED_DEVICE.test(deviceId)) return undefined;
  return { deviceId, kind: rest };
}

export function deviceTopics(deviceId: string): DeviceTopics {
  const base = `devices/${deviceId}`;
  return {
    telemetry: `${base}/telemetry`,
    status: `${base}/status`,
    ack: `${base}/commands/ack`,
    commands: `${base}/commands`,
  };
}

export type AclDenial =
  | 'TOPIC_NOT_ALLOWED'
  | 'DEVICE_NOT_BOUND'
  | 'DEVICE_BOUND_ELSEWHERE'
  | 'DEVICE_NOT_ACTIVE'
  | 'SYS_TOPIC_NOT_ALLOWED'
  | 'RETAIN_NOT_ALLOWED'
  | 'SUBSCRIPTION_NOT_ALLOWED'
  | 'WILDCARD_NOT_ALLOWED';

export type AclDecision = { allowed: true; kind: PublishKind } | { allowed: false; reason: AclDenial };

const TELEMETRY: AclDecision = { allowed: true, kind: 'telemetry' };
const STATUS: AclDecision = { allowed: true, kind: 'status' };
const ACK: AclDecision = { allowed: true, kind: 'ack' };

function denied(reason: AclDenial): AclDecision {
  return { allowed: false, reason };
}

export function authorizeDevicePublish(topics: DeviceTopics, topic: string, retain: boolean): AclDecision {
  if (retain) return denied('RETAIN_NOT_ALLOWED');
  if (topic === topics.telemetry) return TELEMETRY;
  if (topic === topics.status) return STATUS;
  if (topic === topics.ack) return ACK;
  return denied(topic.startsWith('$') ? 'SYS_TOPIC_NOT_ALLOWED' : 'TOPIC_NOT_ALLOWED');
}

/** `null` when allowed; otherwise why not. */
export function authorizeDeviceSubscribe(topics: DeviceTopics, filter: string): AclDenial | null {
  if (filter === topics.commands) return null;
  if (filter.startsWith('$')) return 'SYS_TOPIC_NOT_ALLOWED';
  if (filter.includes('#') || filter.includes('+')) return 'WILDCARD_NOT_ALLOWED';
  return 'SUBSCRIPTION_NOT_ALLOWED';
}

/**
 * A last will is a publish made later on the device's behalf: it must be one the device could
 * make itself, and only its status topic makes sense for it ("offline").
 */
export function authorizeDeviceWill(
  topics: DeviceTopics,
  will: { topic: string; retain?: boolean } | null | undefined,
): boolean {
  return !will || (will.topic === topics.status && will.retain !== true);
}
