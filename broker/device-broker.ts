// The device broker: Aedes over mutual TLS. Identity is checked in `authenticate` (so the client
// gets a proper CONNACK code and nothing else), topics in `authorizePublish`/`authorizeSubscribe`,
// and the durable intake runs inside `authorizePublish`, which is the only hook Aedes awaits
// before it writes the QoS-1 PUBACK.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Registry } from 'prom-client';
import type { HubConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { SecurityEvent, SecuritySeverity } from '../core/store/security-events.js';
import { authorizeDeviceSubscribe, authorizeDevicePublish, deviceTopics, type DeviceTopics } from './acl.js';
import { DeviceIdentityGate, type DeviceIdentity } from './identity.js';
import { guardPacketSize, SourceRateLimiter, TokenBucket } from './limits.js';
import { BrokerMetrics } from './metrics.js';

export type IntakeOutcome = { outcome: 'accepted' | 'duplicate' | 'dead_letter'; reason?: string };

/** The durable intake (ingest/) behind `authorizePublish`. A rejection means: do not ack. */
export interface TelemetryIntake {
  accept(device: DeviceIdentity, payload: Buffer): Promise<IntakeOutcome>;
  acceptStatus?(device: DeviceIdentity, payload: Buffer): Promise<void> | void;
}

export interface BrokerTlsMaterial {
  key: string;
  /** Server certificate followed by the issuing CA. */
  cert: string;
  /** CA bundle that client certificates must chain to. */
  ca: string;
  /** Current CRLs of the issuing and root CA, PEM. */
  crl: string | string[];
}

export type BrokerLimits = Pick<
  HubConfig,
  | 'maxPayloadBytes'
  | 'deviceMessagesPerSecond'
  | 'deviceBytesPerSecond'
  | 'connectsPerSourcePerMinute'
  | 'maxConnections'
  | 'aclViolationsBeforeDisconnect'
  | 'aclViolationsBeforeQuarantine'
>;

export interface DeviceBrokerOptions {
  store: ControlPlane;
  limits: BrokerLimits;
  tls: BrokerTlsMaterial;
  registry: Registry;
  logger: Logger;
  intake?: TelemetryIntake;
  now?: () => number;
}

export interface LiveSession {
  identity: DeviceIdentity;
  client: Client;
  topics: DeviceTopics;
  connectedAt: number;
  messages: TokenBucket;
  bytes: TokenBucket;
  violations: number;
}

/** Packet overhead allowed on top of the payload limit (topic, ids, header). */
const PACKET_OVERHEAD = 1024;
const COMMANDS_TOPIC = /^devices\/[^/]+\/commands$/;
const DROPPED_TOPIC = '$vitalgate/dropped';

export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
].join(':');

export class DeviceBroker extends EventEmitter<{
  security: [SecurityEvent];
  ack: [deviceId: string, payload: Buffer];
}> {
  readonly metrics: BrokerMetrics;
  private aedes: Aedes | undefined;
  private server: Server | undefined;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly byClient = new WeakMap<Client, LiveSession>();
  private readonly violationTotals = new Map<string, number>();
  private readonly gate: DeviceIdentityGate;
  private readonly sourceLimiter: SourceRateLimiter;
  private readonly now: () => number;
  private tls: BrokerTlsMaterial;
  private intake: TelemetryIntake | undefined;

  constructor(private readonly options: DeviceBrokerOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.metrics = new BrokerMetrics(options.registry);
    this.gate = new DeviceIdentityGate(options.store, this.now);
    this.sourceLimiter = new SourceRateLimiter(options.limits.connectsPerSourcePerMinute);
    this.tls = options.tls;
    this.intake = options.intake;
  }

  async start(listen: { host: string; port: number }): Promise<number> {
    const aedes = await Aedes.createBroker({
      authenticate: (client, _u, _p, done) => this.authenticate(client, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
      // Only commands are ever delivered to devices; a refused publish was moved to a topic
      // no one can subscribe to (see violation()).
      authorizeForward: (_client, packet) => (COMMANDS_TOPIC.test(packet.topic) ? packet : null),
      maxClientsIdLength: 64,
      connectTimeout: 10_000,
    });
    aedes.on('clientDisconnect', (client) => this.onDisconnect(client, 'closed'));
    aedes.on('clientError', (client, err) =>
      this.options.logger.debug({ err: err.message, client: client.id }, 'mqtt client error'),
    );
    this.aedes = aedes;

    const server = createServer(this.secureContextOptions(), (socket) => {
      guardPacketSize(socket, this.options.limits.maxPayloadBytes + PACKET_OVERHEAD, (announced) => {
        this.metrics.aclDenials.inc({ reason: 'PACKET_TOO_LARGE' });
        this.security('packet_too_large', 'medium', {
          source: socket.remoteAddress ?? 'unknown',
          details: { announced },
        });
        socket.destroy();
      });
      aedes.handle(socket);
    });
    server.maxConnections = this.options.limits.maxConnections;
    server.on('connection', (socket) => {
      const address = socket.remoteAddress ?? 'unknown';
      if (!this.sourceLimiter.allow(address)) {
        this.security('connection_rate_limited', 'medium', { source: address });
        this.metrics.refusals.inc({ reason: 'CONNECTION_RATE_LIMITED' });
        socket.destroy();
      }
    });
    server.on('tlsClientError', (err, socket) => {
      this.metrics.refusals.inc({ reason: 'TLS_HANDSHAKE_FAILED' });
      this.options.logger.debug({ err: err.message, source: socket.remoteAddress }, 'tls handshake failed');
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    return typeof address === 'object' && address ? address.port : listen.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const aedes = this.aedes;
    this.server = undefined;
    this.aedes = undefined;
    for (const session of this.sessions.values()) session.client.close();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }

  /** Plugs in the durable intake (the hub wires ingest here before start). */
  setIntake(intake: TelemetryIntake): void {
    this.intake = intake;
  }

  /** Swaps the CRL (or any TLS material) in place; new handshakes use it at once. */
  updateTls(material: Partial<BrokerTlsMaterial>): void {
    this.tls = { ...this.tls, ...material };
    this.server?.setSecureContext(this.secureContextOptions());
  }

  updateCrl(crlPem: string | string[]): void {
    this.updateTls({ crl: crlPem });
  }

  /** Ends a device's live session now (revoke, disable, quarantine, wipe). */
  kick(deviceId: string, cause: string): boolean {
    const session = this.sessions.get(deviceId);
    if (!session) return false;
    this.options.store.audit.append({
      actor: 'system',
      action: 'broker.kick',
      target: `device:${deviceId}`,
      outcome: 'success',
      source: session.identity.address,
      details: { cause },
    });
    this.endSession(session, `kicked:${cause}`);
    return true;
  }

  liveSessions(): { deviceId: string; serial: string; address: string; connectedAt: number }[] {
    return [...this.sessions.values()].map((s) => ({
      deviceId: s.identity.deviceId,
      serial: s.identity.serial,
      address: s.identity.address,
      connectedAt: s.connectedAt,
    }));
  }

  isConnected(deviceId: string): boolean {
    return this.sessions.has(deviceId);
  }

  /** Publishes QoS 1 to the device's commands topic. */
  publishToDevice(deviceId: string, payload: Buffer): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) return Promise.reject(new Error('broker is not running'));
    return new Promise((resolve, reject) =>
      aedes.publish(
        {
          cmd: 'publish',
          topic: deviceTopics(deviceId).commands,
          payload,
          qos: 1,
          retain: false,
          dup: false,
        },
        (err?: Error) => (err ? reject(err) : resolve()),
      ),
    );
  }

  private secureContextOptions() {
    return {
      key: this.tls.key,
      cert: this.tls.cert,
      ca: this.tls.ca,
      crl: this.tls.crl,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2' as const,
      ciphers: TLS_CIPHERS,
      honorCipherOrder: true,
    };
  }

  private authenticate(
    client: Client,
    done: (err: AuthenticateError | null, ok: boolean | null) => void,
  ): void {
    const socket = client.conn as TLSSocket;
    const address = socket.remoteAddress ?? 'unknown';
    const peer = socket.getPeerCertificate?.();
    const decision = this.gate.decide(
      peer && Object.keys(peer).length ? peer : undefined,
      client.id,
      address,
    );
    const deviceId = decision.ok ? decision.identity.deviceId : decision.deviceId;
    if (deviceId) {
      const counters = this.metrics.device(deviceId);
      counters.connectionAttempts += 1;
      counters.lastSourceAddress = address;
    }
    if (!decision.ok) {
      this.metrics.refusals.inc({ reason: decision.code });
      if (deviceId) this.metrics.device(deviceId).authorizationFailures += 1;
      this.options.store.audit.append({
        actor: `device:${deviceId ?? 'unknown'}`,
        action: 'broker.connect',
        target: deviceId ? `device:${deviceId}` : undefined,
        outcome: 'denied',
        source: address,
        details: { code: decision.code },
      });
      this.security('connection_refused', 'medium', {
        deviceId,
        source: address,
        details: { code: decision.code },
      });
      const err = new Error('not authorized') as AuthenticateError;
      (err as { returnCode: number }).returnCode = decision.returnCode;
      done(err, false);
      return;
    }
    const identity = decision.identity;
    const existing = this.sessions.get(identity.deviceId);
    if (existing) {
      const kind =
        existing.identity.address !== address && existing.identity.serial === identity.serial
          ? 'shared_certificate'
          : 'conflicting_client_id';
      this.security(kind, 'high', {
        deviceId: identity.deviceId,
        source: address,
        details: { previousSource: existing.identity.address, serial: identity.serial },
      });
    }
    const session: LiveSession = {
      identity,
      client,
      topics: deviceTopics(identity.deviceId),
      connectedAt: this.now(),
      messages: new TokenBucket(
        this.options.limits.deviceMessagesPerSecond,
        this.options.limits.deviceMessagesPerSecond * 2,
      ),
      bytes: new TokenBucket(
        this.options.limits.deviceBytesPerSecond,
        this.options.limits.deviceBytesPerSecond * 2,
      ),
      violations: 0,
    };
    this.sessions.set(identity.deviceId, session);
    this.byClient.set(client, session);
    this.metrics.connections.set(this.sessions.size);
    const counters = this.metrics.device(identity.deviceId);
    counters.firstSeen ??= session.connectedAt;
    counters.lastSeen = session.connectedAt;
    this.options.store.audit.append({
      actor: `device:${identity.deviceId}`,
      action: 'broker.connect',
      target: `device:${identity.deviceId}`,
      outcome: 'success',
      source: address,
      details: { serial: identity.serial },
    });
    done(null, true);
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (err?: Error | null) => void,
  ): void {
    const session = client ? this.byClient.get(client) : undefined;
    if (!session) return done(new Error('not authenticated'));
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (payload.length > this.options.limits.maxPayloadBytes) {
      this.metrics.aclDenials.inc({ reason: 'PACKET_TOO_LARGE' });
      this.security('packet_too_large', 'medium', {
        deviceId: session.identity.deviceId,
        source: session.identity.address,
      });
      this.endSession(session, 'packet_too_large');
      return done(new Error('packet too large'));
    }
    const decision = authorizeDevicePublish(session.topics, packet.topic, packet.retain);
    if (!decision.allowed) {
      packet.topic = DROPPED_TOPIC;
      packet.retain = false;
      return this.violation(session, decision.reason, done);
    }
    if (!session.messages.take(1) || !session.bytes.take(payload.length)) {
      this.metrics.aclDenials.inc({ reason: 'RATE_LIMITED' });
      this.security('message_rate_exceeded', 'medium', {
        deviceId: session.identity.deviceId,
        source: session.identity.address,
      });
      this.endSession(session, 'rate_limited');
      return done(new Error('rate limited'));
    }
    const counters = this.metrics.device(session.identity.deviceId);
    counters.messagesSent += 1;
    counters.bytesSent += payload.length;
    counters.lastSeen = this.now();
    this.metrics.messages.inc();
    this.metrics.bytes.inc(payload.length);
    const intake = this.intake;
    switch (decision.kind) {
      case 'telemetry':
        if (!intake) return done();
        intake.accept(session.identity, payload).then(
          () => done(),
          (err: unknown) => {
            this.options.logger.warn(
              { code: (err as { code?: string }).code, device: session.identity.deviceId },
              'intake refused: not acked',
            );
            done(err instanceof Error ? err : new Error('intake failed'));
          },
        );
        return;
      case 'status':
        Promise.resolve(intake?.acceptStatus?.(session.identity, payload)).then(
          () => done(),
          () => done(),
        );
        return;
      case 'ack':
        this.emit('ack', session.identity.deviceId, payload);
        return done();
    }
  }

  private authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (err: Error | null, sub?: Subscription | null) => void,
  ): void {
    const session = this.byClient.get(client);
    if (!session) return done(new Error('not authenticated'));
    if (authorizeDeviceSubscribe(session.topics, sub.topic))
      return done(null, { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 });
    this.violation(session, 'SUBSCRIPTION_NOT_ALLOWED', (err) => (err ? done(err) : done(null, null)));
  }

  /** Counts and audits an ACL violation; disconnects and finally quarantines repeat offenders. */
  private violation(session: LiveSession, reason: string, done: (err?: Error | null) => void): void {
    const deviceId = session.identity.deviceId;
    session.violations += 1;
    const total = (this.violationTotals.get(deviceId) ?? 0) + 1;
    this.violationTotals.set(deviceId, total);
    this.metrics.aclDenials.inc({ reason });
    this.metrics.device(deviceId).authorizationFailures += 1;
    this.options.store.audit.append({
      actor: `device:${deviceId}`,
      action: 'broker.acl',
      target: `device:${deviceId}`,
      outcome: 'denied',
      source: session.identity.address,
      details: { code: reason },
    });
    this.security('acl_violation', 'medium', {
      deviceId,
      source: session.identity.address,
      details: { code: reason, total },
    });
    if (total >= this.options.limits.aclViolationsBeforeQuarantine) {
      this.options.store.devices.setStatus(deviceId, 'quarantined', `automatic: ${total} ACL violations`);
      this.options.store.audit.append({
        actor: 'system',
        action: 'device.quarantine',
        target: `device:${deviceId}`,
        outcome: 'success',
        details: { reason: 'acl_violations', total },
      });
      this.security('device_quarantined', 'high', { deviceId, details: { reason: 'acl_violations', total } });
      this.endSession(session, 'quarantined');
      return done(new Error('quarantined'));
    }
    if (session.violations >= this.options.limits.aclViolationsBeforeDisconnect) {
      this.endSession(session, 'acl_violations');
      return done(new Error('too many violations'));
    }
    // Acknowledged and dropped: MQTT 3.1.1 has no per-publish refusal, and authorizeForward
    // never forwards device messages.
    done();
  }

  private endSession(session: LiveSession, cause: string): void {
    if (this.sessions.get(session.identity.deviceId) === session) {
      this.sessions.delete(session.identity.deviceId);
      this.metrics.connections.set(this.sessions.size);
      this.recordDisconnect(session, cause);
    }
    session.client.close();
  }

  private onDisconnect(client: Client, cause: string): void {
    const session = this.byClient.get(client);
    if (!session || this.sessions.get(session.identity.deviceId) !== session) return;
    this.sessions.delete(session.identity.deviceId);
    this.metrics.connections.set(this.sessions.size);
    this.recordDisconnect(session, cause);
  }

  private recordDisconnect(session: LiveSession, cause: string): void {
    this.metrics.disconnects.inc({ cause: cause.split(':')[0]! });
    this.metrics.device(session.identity.deviceId).disconnects += 1;
    this.options.store.audit.append({
      actor: `device:${session.identity.deviceId}`,
      action: 'broker.disconnect',
      target: `device:${session.identity.deviceId}`,
      outcome: 'success',
      source: session.identity.address,
      details: { cause },
    });
  }

  private security(
    kind: string,
    severity: SecuritySeverity,
    event: { deviceId?: string | undefined; source?: string; details?: Record<string, unknown> },
  ): void {
    const stored = this.options.store.securityEvents.add({
      kind,
      severity,
      deviceId: event.deviceId ?? null,
      source: event.source ?? null,
      details: event.details ?? null,
    });
    this.emit('security', stored);
  }
}
