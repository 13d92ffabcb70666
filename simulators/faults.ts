// Faults and attacks (SPEC §8): each runs with a device of its own, enrolled for the run, and
// each report says what the device saw and what the hub did, read back from the hub's metrics
// and records after the act, never assumed. A fault whose preconditions are missing (a
// provisioner that cannot register devices, no second loopback address, no operator CA) is
// reported as unavailable with the reason.
import {
  describeConnect,
  end,
  flood,
  publishRetained,
  publishWrongTopics,
  replaySeq,
  sendGarbage,
  skewClock,
  sleep,
  subscribeWildcard,
  tryConnect,
  type FaultDevice,
} from './fault-actions.js';
import type { ConnectionTarget } from './device-connection.js';
import type { FleetProvisioner } from './fleet-provisioning.js';
import { growthBy, type HubReadback, type MetricSamples } from './hub-readback.js';

export const FAULT_NAMES = [
  'garbage',
  'wrong_topic',
  'wildcard_subscribe',
  'replayed_seq',
  'clock_skew',
  'flood',
  'expired_cert',
  'revoked_cert',
  'other_device_cert',
  'stolen_device',
  'retained_publish',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

export function isFaultName(value: string): value is FaultName {
  return (FAULT_NAMES as readonly string[]).includes(value);
}

export type FaultOutcome =
  'refused' | 'dead_lettered' | 'dropped' | 'quarantined' | 'not_refused' | 'unobserved' | 'unavailable';

export interface FaultReport {
  fault: FaultName;
  description: string;
  /** What SPEC §4 says the hub does. */
  expected: string;
  /** What the device saw. */
  device: string[];
  /** What the hub's metrics and records say it did. */
  hub: string[];
  outcome: FaultOutcome;
  /** Whether the hub did what the spec says; undefined when it could not be observed. */
  asExpected: boolean | undefined;
}

/** What a fault needs from the fleet. */
export interface FaultContext {
  target: ConnectionTarget;
  provisioner: FleetProvisioner;
  readback: HubReadback;
  /** Enrolls a device of its own for the fault (registered with these networks). */
  enroll(fault: FaultName, allowedNetworks?: string[]): Promise<FaultDevice>;
  /** A loopback source address for the fault device, and one on a network it never used. */
  addresses(fault: FaultName): { home: string; foreign: string } | undefined;
  /** A device id of the fleet (another device's identity). */
  otherDeviceId: string;
  behaviourWindowS: number;
}

/** The hub's reaction as read back: metric growth by label, records of the fault device. */
export interface Observation {
  metrics: Record<string, Record<string, number>> | undefined;
  events: string[] | undefined;
  deadLetters: string[] | undefined;
  status: string | undefined;
}

interface FaultSpec {
  description: string;
  expected: string;
  /** Metric families and the label the report breaks them down by. */
  watch: [name: string, label: string][];
  /** Returns why the fault cannot run here, if it cannot. */
  unavailable?(ctx: FaultContext): string | undefined;
  allowedNetworks?(ctx: FaultContext, fault: FaultName): string[] | undefined;
  act(ctx: FaultContext, device: FaultDevice, fault: FaultName): Promise<string[]>;
  judge(o: Observation): { outcome: FaultOutcome; asExpected: boolean | undefined };
  /** Keep reading back until this holds (default: the judgement is as expected), up to the limit. */
  settled?(o: Observation): boolean;
  /** How long the hub may take beyond the usual 3 s, given the behaviour window. */
  extraWaitMs?(ctx: FaultContext): number;
}

const M = {
  deadLetters: 'vitalgate_ingest_dead_letters_total',
  duplicates: 'vitalgate_ingest_duplicates_total',
  aclDenials: 'vitalgate_mqtt_authorization_failures_total',
  refusals: 'vitalgate_mqtt_connection_refusals_total',
  disconnects: 'vitalgate_mqtt_disconnects_total',
} as const;

const grew = (o: Observation, name: string, label: string) => (o.metrics?.[name]?.[label] ?? 0) > 0;
const seen = (o: Observation) => o.metrics !== undefined || o.events !== undefined;

function verdict(
  o: Observation,
  hit: boolean,
  outcome: FaultOutcome,
): { outcome: FaultOutcome; asExpected: boolean | undefined } {
  if (hit) return { outcome, asExpected: true };
  return seen(o)
    ? { outcome: 'not_refused', asExpected: false }
    : { outcome: 'unobserved', asExpected: undefined };
}

const refusedConnect = (codes: string[]) => (o: Observation) =>
  verdict(
    o,
    codes.some((c) => grew(o, M.refusals, c) || o.events?.some((e) => e.includes(c))),
    'refused',
  );

const aclDenied = (code: string) => (o: Observation) =>
  verdict(o, grew(o, M.aclDenials, code) || (o.events?.some((e) => e.includes(code)) ?? false), 'refused');

const SPECS: Record<FaultName, FaultSpec> = {
  garbage: {
    description: 'publishes text that is not JSON, an envelope missing its readings, and a heart rate of 999',
    expected: 'acknowledged, kept as dead letters with a reason, nothing stored',
    watch: [[M.deadLetters, 'reason']],
    act: (ctx, device) => sendGarbage(ctx.target, device),
    judge: (o) => {
      const letters = Object.values(o.metrics?.[M.deadLetters] ?? {}).reduce((a, b) => a + b, 0);
      return verdict(o, letters >= 3 || (o.deadLetters?.length ?? 0) >= 3, 'dead_lettered');
    },
  },
  wrong_topic: {
    description:
      "publishes to another device's telemetry topic, an unknown topic of its own, and a global topic",
    expected: 'refused (dropped), counted and audited; disconnected after repeated violations',
    watch: [
      [M.aclDenials, 'reason'],
      [M.disconnects, 'cause'],
    ],
    act: (ctx, device) => publishWrongTopics(ctx.target, device, ctx.otherDeviceId),
    judge: aclDenied('TOPIC_NOT_ALLOWED'),
  },
  wildcard_subscribe: {
    description: 'subscribes to devices/# and devices/+/telemetry',
    expected: 'subscription refused (SUBACK failure), counted and audited',
    watch: [[M.aclDenials, 'reason']],
    act: (ctx, device) => subscribeWildcard(ctx.target, device),
    judge: aclDenied('WILDCARD_NOT_ALLOWED'),
  },
  replayed_seq: {
    description: 'sends seq 1, seq 1 again, seq 2, then seq 1 with other values',
    expected: 'the repeat and the old seq are acknowledged but dropped and counted, never stored twice',
    watch: [[M.duplicates, 'kind']],
    act: (ctx, device) => replaySeq(ctx.target, device),
    judge: (o) =>
      verdict(o, grew(o, M.duplicates, 'replay') && grew(o, M.duplicates, 'duplicate'), 'dropped'),
  },
  clock_skew: {
    description: 'sends telemetry stamped two hours in the future',
    expected: 'acknowledged and kept as a dead letter (CLOCK_SKEW), not stored',
    watch: [[M.deadLetters, 'reason']],
    act: (ctx, device) => skewClock(ctx.target, device),
    judge: (o) =>
      verdict(
        o,
        grew(o, M.deadLetters, 'CLOCK_SKEW') || (o.deadLetters?.includes('CLOCK_SKEW') ?? false),
        'dead_lettered',
      ),
  },
  flood: {
    description:
      'quiet for a behaviour window, then a steady 40 msg/s on the same session until the hub ends it',
    expected: 'the behaviour monitor raises a flood event, quarantines the device and ends its session',
    watch: [
      [M.aclDenials, 'reason'],
      [M.disconnects, 'cause'],
    ],
    act: (ctx, device) =>
      flood(ctx.target, device, {
        idleMs: (ctx.behaviourWindowS + 1) * 1000,
        // A bound, not a pace: the stream stops as soon as the hub closes the session.
        sustainMs: (ctx.behaviourWindowS * 3 + 2) * 1000,
      }),
    judge: (o) => {
      if (o.status === 'quarantined') return { outcome: 'quarantined', asExpected: true };
      const limited =
        grew(o, M.aclDenials, 'RATE_LIMITED') ||
        (o.events?.some((e) => e.startsWith('message_rate')) ?? false);
      return verdict(o, limited, 'refused');
    },
    // The behaviour monitor judges whole windows: the quarantine may come one window later.
    settled: (o) => o.status === 'quarantined',
    extraWaitMs: (ctx) => (ctx.behaviourWindowS + 2) * 1000,
  },
  expired_cert: {
    description: "connects with a hub-signed certificate for the device's key that expired yesterday",
    expected: 'refused at the TLS handshake (CERTIFICATE_EXPIRED), counted and audited',
    watch: [[M.refusals, 'reason']],
    unavailable: (ctx) =>
      ctx.provisioner.expiredCertificate
        ? undefined
        : "needs the hub's data dir (the operator CA back-dates the certificate)",
    act: async (ctx, device) => {
      const certPem = await ctx.provisioner.expiredCertificate!(device.deviceId, device.credentials.keyPem);
      return [describeConnect(await connectOnce(ctx, device, { certPem }))];
    },
    judge: refusedConnect(['CERTIFICATE_EXPIRED']),
  },
  revoked_cert: {
    description: 'connects once, is revoked by the operator, then connects again with the same certificate',
    expected: 'refused (CERTIFICATE_REVOKED at the handshake, or DEVICE_NOT_ACTIVE), counted and audited',
    watch: [[M.refusals, 'reason']],
    unavailable: (ctx) =>
      ctx.provisioner.revoke ? undefined : 'needs a provisioner that can revoke (data dir or admin)',
    act: async (ctx, device) => {
      const before = describeConnect(await connectOnce(ctx, device));
      await ctx.provisioner.revoke!(device.deviceId, 'simulated fault: revoked certificate');
      // No wait: revoke returns once the device's status is in the control plane, and the broker
      // reads it at every connect (DEVICE_NOT_ACTIVE), before the new CRL reaches the listener.
      return [
        `before revocation: ${before}`,
        `after revocation: ${describeConnect(await connectOnce(ctx, device))}`,
      ];
    },
    judge: refusedConnect(['CERTIFICATE_REVOKED', 'DEVICE_NOT_ACTIVE']),
  },
  other_device_cert: {
    description: "connects as another device (its client id) with this device's certificate",
    expected: 'refused at CONNACK (CLIENT_ID_MISMATCH), counted and audited',
    watch: [[M.refusals, 'reason']],
    act: async (ctx, device) => [
      describeConnect(await connectOnce(ctx, device, { clientId: ctx.otherDeviceId })),
    ],
    judge: refusedConnect(['CLIENT_ID_MISMATCH']),
  },
  stolen_device: {
    description: "the device's own key and certificate, taken to another network",
    expected:
      'refused (SOURCE_NOT_ALLOWED: outside the networks registered for the device), counted and audited',
    watch: [[M.refusals, 'reason']],
    unavailable: (ctx) =>
      !ctx.provisioner.canRegister
        ? 'needs a provisioner that registers the device with its allowed networks'
        : ctx.addresses('stolen_device')
          ? undefined
          : 'needs a second loopback network (Linux routes 127.0.0.0/8 to lo)',
    allowedNetworks: (ctx, fault) => [`${ctx.addresses(fault)!.home}/32`],
    act: async (ctx, device, fault) => {
      const { home, foreign } = ctx.addresses(fault)!;
      const atHome = describeConnect(await connectOnce(ctx, device, { localAddress: home }));
      const away = describeConnect(await connectOnce(ctx, device, { localAddress: foreign }));
      return [`from its home network (${home}): ${atHome}`, `from ${foreign}: ${away}`];
    },
    judge: refusedConnect(['SOURCE_NOT_ALLOWED']),
  },
  retained_publish: {
    description: 'publishes valid telemetry with the retain flag',
    expected: 'refused (dropped, nothing retained or stored), counted and audited',
    watch: [[M.aclDenials, 'reason']],
    act: (ctx, device) => publishRetained(ctx.target, device),
    judge: aclDenied('RETAIN_NOT_ALLOWED'),
  },
};

async function connectOnce(
  ctx: FaultContext,
  device: FaultDevice,
  overrides: Parameters<typeof tryConnect>[2] = {},
): ReturnType<typeof tryConnect> {
  const outcome = await tryConnect(ctx.target, device, overrides);
  if ('client' in outcome) await end(outcome.client);
  return outcome;
}

export function describeFault(fault: FaultName): { description: string; expected: string } {
  return { description: SPECS[fault].description, expected: SPECS[fault].expected };
}

/** A fault made ready at the start of a run (its device enrolled), to be run later. */
export interface PreparedFault {
  fault: FaultName;
  run(): Promise<FaultReport>;
}

export async function prepareFault(fault: FaultName, ctx: FaultContext): Promise<PreparedFault> {
  const spec = SPECS[fault];
  const base = { fault, description: spec.description, expected: spec.expected };
  const unavailable = (reason: string): PreparedFault => ({
    fault,
    run: async () => ({ ...base, device: [], hub: [reason], outcome: 'unavailable', asExpected: undefined }),
  });
  const why = ctx.provisioner.canRegister
    ? spec.unavailable?.(ctx)
    : 'needs a provisioner that registers devices (data dir or admin credentials)';
  if (why) return unavailable(why);
  let device: FaultDevice;
  try {
    device = await ctx.enroll(fault, spec.allowedNetworks?.(ctx, fault));
  } catch (err) {
    return unavailable(`could not enroll its device: ${(err as { code?: string }).code ?? String(err)}`);
  }
  return {
    fault,
    run: async () => {
      const since = Date.now();
      const before = await ctx.readback.metrics();
      const seenByDevice = await spec
        .act(ctx, device, fault)
        .catch((err: unknown) => [`the fault could not run: ${(err as Error).message}`]);
      const observation = await observe(ctx, spec, device.deviceId, since, before);
      return { ...base, device: seenByDevice, hub: describe(observation), ...spec.judge(observation) };
    },
  };
}

/** Reads the hub's reaction, polling briefly: refusal records land just after the act. */
async function observe(
  ctx: FaultContext,
  spec: FaultSpec,
  deviceId: string,
  since: number,
  before: MetricSamples | undefined,
): Promise<Observation> {
  let observation: Observation | undefined;
  const deadline = Date.now() + 3_000 + (spec.extraWaitMs?.(ctx) ?? 0);
  const settled = spec.settled ?? ((o: Observation) => spec.judge(o).asExpected === true);
  for (;;) {
    await sleep(500);
    const after = before ? await ctx.readback.metrics() : undefined;
    const metrics =
      before && after
        ? Object.fromEntries(spec.watch.map(([name, label]) => [name, growthBy(before, after, name, label)]))
        : undefined;
    const events = await ctx.readback.securityEvents?.(deviceId, since);
    observation = {
      metrics,
      events: events?.map((e) => `${e.kind}${e.details?.code ? ` ${String(e.details.code)}` : ''}`),
      deadLetters: await ctx.readback.deadLetters?.(deviceId, since),
      status: await ctx.readback.deviceStatus?.(deviceId),
    };
    if (settled(observation) || Date.now() > deadline) return observation;
  }
}

function describe(o: Observation): string[] {
  const lines: string[] = [];
  if (o.metrics === undefined) lines.push('metrics: not reachable');
  else {
    for (const [name, byLabel] of Object.entries(o.metrics)) {
      for (const [label, n] of Object.entries(byLabel)) lines.push(`${name}{${label}} +${n}`);
    }
    if (lines.length === 0) lines.push('metrics: no change');
  }
  if (o.events?.length) lines.push(`security events: ${[...new Set(o.events)].join(', ')}`);
  if (o.deadLetters?.length) lines.push(`dead letters: ${o.deadLetters.join(', ')}`);
  if (o.status) lines.push(`device status: ${o.status}`);
  return lines;
}
