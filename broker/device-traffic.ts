// What a connected device may do, message by message: publish to its own telemetry, status and
// commands/ack topics and subscribe to its own commands topic, within its rate and size limits.
// Telemetry goes to the durable intake before Aedes writes the PUBACK. Everything here reads the
// session object resolved at connect: no SQLite, no parsing, no per-message allocation of ours.
import type { Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import {
  authorizeDevicePublish,
  authorizeDeviceSubscribe,
  relayedTopic,
  type AclDenial,
  type PublishKind,
} from './acl.js';
import type { BrokerAuditTrail } from './audit-trail.js';
import type { IntakeDevice, TelemetryIntake } from './intake.js';
import type { BrokerMetrics } from './metrics.js';
import type { GatewayRelay, LiveSession, SessionRegistry } from './sessions.js';

export interface TrafficLimits {
  maxPayloadBytes: number;
  aclViolationsBeforeDisconnect: number;
  aclViolationsBeforeQuarantine: number;
}

export interface DeviceTrafficDeps {
  sessions: SessionRegistry;
  metrics: BrokerMetrics;
  trail: BrokerAuditTrail;
  store: ControlPlane;
  limits: TrafficLimits;
  logger: Logger;
  now: () => number;
  endSession(session: LiveSession, cause: string): void;
  oversize(session: LiveSession, length: number): void;
  ack(deviceId: string, payload: Buffer): void;
}

type Done = (err?: Error | null) => void;

/** Refused publishes are acknowledged and moved here: nothing subscribes, nothing forwards. */
export const DROPPED_TOPIC = '$vitalgate/dropped';
const NOT_AUTHENTICATED = new Error('not authenticated');
/** Session ends that were the device's doing (or its network's): only these release its will. */
const DEVICE_SIDE_ENDS = new Set([undefined, 'closed', 'client_error', 'keepalive_timeout']);

export class DeviceTraffic {
  intake: TelemetryIntake | undefined;
  private readonly violationTotals = new Map<string, number>();
  private inFlight = 0;
  private drained: (() => void) | undefined;

  constructor(
    private readonly deps: DeviceTrafficDeps,
    intake?: TelemetryIntake,
  ) {
    this.intake = intake;
  }

  authorizePublish(client: Client | null, packet: PublishPacket, done: Done): void {
    const { sessions, limits, metrics } = this.deps;
    const session = sessions.ofClient(client);
    if (!session) return done(NOT_AUTHENTICATED);
    if (packet === session.will) return this.publishWill(session, packet, done);
    if (session.ended) return done(NOT_AUTHENTICATED);
    const payload = packet.payload as Buffer | string;
    const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (length > limits.maxPayloadBytes) {
      this.deps.oversize(session, length);
      return done(new Error('packet too large'));
    }
    // A gateway's relayed topics (gateways/{gw}/devices/{dev}/…): the binding is checked on every
    // publish against the session's map of bound devices (reloaded when a binding changes).
    const relay = session.relay;
    const relayed = relay === undefined ? undefined : relayedTopic(relay.prefix, packet.topic);
    let sender: IntakeDevice = session.intakeDevice;
    let kind: PublishKind;
    if (relayed) {
      const target = relay!.devices.get(relayed.deviceId);
      const denial = packet.retain ? 'RETAIN_NOT_ALLOWED' : this.relayDenial(relay!, relayed.deviceId);
      if (denial || !target) {
        packet.topic = DROPPED_TOPIC;
        packet.retain = false;
        return this.violation(session, denial ?? 'DEVICE_NOT_BOUND', done, relayed.deviceId);
      }
      sender = target.intakeDevice;
      kind = relayed.kind;
    } else {
      const decision = authorizeDevicePublish(session.topics, packet.topic, packet.retain);
      if (!decision.allowed) {
        packet.topic = DROPPED_TOPIC;
        packet.retain = false;
        return this.violation(session, decision.reason, done);
      }
      kind = decision.kind;
    }
    const now = this.deps.now();
    if (!session.messages.take(1, now) || !session.bytes.take(length, now)) {
      metrics.aclDenials.inc({ reason: 'RATE_LIMITED' });
      session.counters.authorizationFailures += 1;
      this.deps.trail.event('message_rate_exceeded', 'medium', {
        deviceId: session.identity.deviceId,
        source: session.identity.address,
      });
      this.deps.endSession(session, 'rate_limited');
      return done(new Error('rate limited'));
    }
    const counters = session.counters;
    counters.messagesSent += 1;
    counters.bytesSent += length;
    counters.lastSeen = now;
    metrics.messagesTotal += 1;
    metrics.bytesTotal += length;
    const buffer = typeof payload === 'string' ? Buffer.from(payload) : payload;
    switch (kind) {
      case 'telemetry':
        return this.toIntake(session, sender, buffer, done);
      case 'status':
        return this.toStatus(sender, buffer, done);
      case 'ack':
        this.deps.ack(session.identity.deviceId, buffer);
        return done();
    }
  }

  authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (err: Error | null, sub?: Subscription | null) => void,
  ): void {
    const session = this.deps.sessions.ofClient(client);
    if (!session || session.ended) return done(NOT_AUTHENTICATED);
    const denial = authorizeDeviceSubscribe(session.topics, sub.topic);
    if (denial === null) return done(null, { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 });
    this.violation(session, denial, (err) => (err ? done(err) : done(null, null)));
  }

  /** Resolves once no intake call is in flight, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** PUBACK only once the intake said the message is durable; a rejection withholds it. */
  private toIntake(session: LiveSession, sender: IntakeDevice, payload: Buffer, done: Done): void {
    const intake = this.intake;
    if (!intake) return done();
    this.inFlight += 1;
    intake.accept(sender, payload).then(
      () => {
        done();
        this.settled();
      },
      (err: unknown) => {
        session.endCause ??= 'intake_refused';
        this.deps.logger.warn(
          { code: (err as { code?: string }).code, device: session.identity.deviceId },
          'intake refused a message: not acknowledged',
        );
        done(err instanceof Error ? err : new Error('intake refused'));
        this.settled();
      },
    );
  }

  private toStatus(sender: IntakeDevice, payload: Buffer, done: Done): void {
    const intake = this.intake;
    if (!intake?.acceptStatus) return done();
    try {
      const result = intake.acceptStatus(sender, payload);
      if (result)
        result.then(
          () => done(),
          () => done(),
        );
      else done();
    } catch {
      done();
    }
  }

  /** The last will (checked at connect) goes out only when the device itself dropped off. */
  private publishWill(session: LiveSession, will: PublishPacket, done: Done): void {
    if (!DEVICE_SIDE_ENDS.has(session.endCause)) return done(NOT_AUTHENTICATED);
    const payload = Buffer.isBuffer(will.payload) ? will.payload : Buffer.from(will.payload);
    will.topic = DROPPED_TOPIC;
    this.toStatus(session.intakeDevice, payload, done);
  }

  /**
   * Why a gateway may not publish for this device, or null: bound to another gateway (looked up
   * only on this refusal path), bound to none, or not active.
   */
  private relayDenial(relay: GatewayRelay, deviceId: string): AclDenial | null {
    const bound = relay.devices.get(deviceId);
    if (bound) return bound.binding.status === 'active' ? null : 'DEVICE_NOT_ACTIVE';
    return this.deps.store.gatewayBindings.ofDevice(deviceId) ? 'DEVICE_BOUND_ELSEWHERE' : 'DEVICE_NOT_BOUND';
  }

  /** Counts and audits an ACL violation; disconnects and finally quarantines repeat offenders. */
  private violation(session: LiveSession, reason: AclDenial, done: Done, relayedDevice?: string): void {
    const { limits, metrics, trail } = this.deps;
    const deviceId = session.identity.deviceId;
    session.violations += 1;
    const total = (this.violationTotals.get(deviceId) ?? 0) + 1;
    this.violationTotals.set(deviceId, total);
    metrics.aclDenials.inc({ reason });
    session.counters.authorizationFailures += 1;
    trail.aclDenied(session.identity, reason, total, relayedDevice);
    if (total >= limits.aclViolationsBeforeQuarantine) {
      this.violationTotals.delete(deviceId);
      this.deps.store.devices.setStatus(deviceId, 'quarantined', `automatic: ${total} ACL violations`);
      trail.quarantined(deviceId, total);
      this.deps.endSession(session, 'quarantined');
      return done(new Error('quarantined'));
    }
    if (session.violations >= limits.aclViolationsBeforeDisconnect) {
      this.deps.endSession(session, 'acl_violations');
      return done(new Error('too many violations'));
    }
    // Acknowledged and dropped: MQTT 3.1.1 has no per-publish refusal, and nothing forwards it.
    done();
  }

  private settled(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0 && this.drained) {
      this.drained();
      this.drained = undefined;
    }
  }
}
