// Least-privilege topics: a device may publish only to its own telemetry, status and
// commands/ack topics, and subscribe only to its own commands topic. Nothing else: no
// wildcards, no other device's topics, no $SYS, no retained messages.

export type PublishKind = 'telemetry' | 'status' | 'ack';

export interface DeviceTopics {
  telemetry: string;
  status: string;
  ack: string;
  commands: string;
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

export type AclDecision = { allowed: true; kind: PublishKind } | { allowed: false; reason: AclDenial };

export type AclDenial = 'TOPIC_NOT_ALLOWED' | 'RETAIN_NOT_ALLOWED' | 'SUBSCRIPTION_NOT_ALLOWED';

export function authorizeDevicePublish(topics: DeviceTopics, topic: string, retain: boolean): AclDecision {
  if (retain) return { allowed: false, reason: 'RETAIN_NOT_ALLOWED' };
  if (topic === topics.telemetry) return { allowed: true, kind: 'telemetry' };
  if (topic === topics.status) return { allowed: true, kind: 'status' };
  if (topic === topics.ack) return { allowed: true, kind: 'ack' };
  return { allowed: false, reason: 'TOPIC_NOT_ALLOWED' };
}

export function authorizeDeviceSubscribe(topics: DeviceTopics, filter: string): boolean {
  return filter === topics.commands;
}
