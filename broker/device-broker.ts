// The device broker: Aedes over mutual TLS. Identity is checked in `authenticate` (so the client
// gets a proper CONNACK code and nothing else), topics in `authorizePublish`/`authorizeSubscribe`,
// and the durable intake runs inside `authorizePublish`, which is the only hook Aedes awaits
// before it writes the QoS-1 PUBACK. Device lookups happen once per connect; the per-message path
// touches only the session object (no SQLite, no allocation beyond the intake call).
import { EventEmitter } from 'node:events';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { Registry } from 'prom-client';
import type { HubConfig } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { SecurityEvent } from '../core/store/security-events.js';
import { GATEWAY_KIND } from '../core/domain.js';
import { authorizeDeviceWill, deviceTopics, gatewayOwnTopics, gatewayRelayPrefix } from './acl.js';
import { BrokerAuditTrail } from './audit-trail.js';
import { DeviceTraffic } from './device-traffic.js';
import { DeviceIdentityGate, type IdentityRefusal } from './identity.js';
import { CountingIntake, type TelemetryIntake } from './intake.js';
import { guardPacketSize, TokenBucket } from './limits.js';
import { BrokerMetrics } from './metrics.js';
import {
  SessionRegistry,
  type GatewayRelay,
  type LiveSession,
  type LiveSessionInfo,
  type RelayedDevice,
} from './sessions.js';
import { batchWritesPerRead } from './write-batching.js';
import { DeviceTlsListener, type BrokerTlsMaterial, type TransportRefusalEvent } from './tls-listener.js';

export type { IntakeOutcome, TelemetryIntake } from './intake.js';
export type { BrokerTlsMaterial } from './tls-listener.js';
export type { LiveSession, LiveSessionInfo } from './sessions.js';

export type BrokerLimits = Pick<
  HubConfig,
  | 'maxPayloadBytes'
  | 'deviceMessagesPerSecond'
  | 'deviceBytesPerSecond'
  | 'connectsPerSourcePerMinute'
  | 'maxConnections'
  | 'tlsHandshakeTimeoutSeconds'
  | 'pendingHandshakesPerSource'
  | 'aclViolationsBeforeDisconnect'
  | 'aclViolationsBeforeQuarantine'
>;

export interface DeviceBrokerOptions {
  store: ControlPlane;
  limits: BrokerLimits;
  tls: BrokerTlsMaterial;
  registry: Registry;
  logger: Logger;
  /** The durable intake; without one, telemetry is counted and acknowledged (see setIntake). */
  intake?: TelemetryIntake;
  now?: () => number;
  /** How long stop() waits for intake calls in flight. Default 5 s. */
  drainTimeoutMs?: number;
}

export type ConnectRefusal = IdentityRefusal | 'WILL_NOT_ALLOWED';

export interface DeviceBrokerEvents {
  /** Every security event the broker stored (same shape as `store.securityEvents.list()`). */
  security: [SecurityEvent];
  /** A device published to its `commands/ack` topic (the CommandPublisher listens). */
  ack: [deviceId: string, payload: Buffer];
  connected: [LiveSessionInfo];
  /** A device's subscription to its commands topic is in place: commands sent now reach it. */
  listening: [LiveSessionInfo];
  disconnected: [LiveSessionInfo, cause: string];
}

/** Packet overhead allowed on top of the payload limit (topic, ids, header). */
const PACKET_OVERHEAD = 1024;
const COMMANDS_TOPIC = /^devices\/[^/]+\/commands$/;

export class DeviceBroker extends EventEmitter<DeviceBrokerEvents> {
  readonly metrics: BrokerMetrics;
  /** Sessions subscribed to their commands topic. */
  private readonly commandListeners = new WeakSet<LiveSession>();
  private aedes: Aedes | undefined;
  private listener: DeviceTlsListener | undefined;
  private readonly sessions = new SessionRegistry();
  private readonly bySocket = new WeakMap<TLSSocket, LiveSession>();
  /** The client certificate the listener read (reading it again costs another 30–90 µs). */
  private readonly peers = new WeakMap<TLSSocket, PeerCertificate>();
  private readonly wills = new WeakMap<Client, PublishPacket>();
  private readonly gate: DeviceIdentityGate;
  private readonly trail: BrokerAuditTrail;
  private readonly now: () => number;
  private tls: BrokerTlsMaterial;
  private readonly traffic: DeviceTraffic;

  constructor(private readonly options: DeviceBrokerOptions) {
    super();
    this.now = options.now ?? Date.now;
    this.metrics = new BrokerMetrics(options.registry, () => this.sessions.size);
    this.gate = new DeviceIdentityGate(options.store, this.now);
    this.trail = new BrokerAuditTrail(options.store, (e) => this.emit('security', e), this.now);
    this.tls = options.tls;
    this.traffic = new DeviceTraffic(
      {
        sessions: this.sessions,
        metrics: this.metrics,
        trail: this.trail,
        store: options.store,
        limits: options.limits,
        logger: options.logger,
        now: this.now,
        endSession: (session, cause) => this.endSession(session, cause),
        oversize: (session, length) => this.oversize(session.client.conn as TLSSocket, length),
        ack: (deviceId, payload) => this.emit('ack', deviceId, payload),
      },
      options.intake ?? new CountingIntake(),
    );
  }

  /** Listens for devices; resolves with the bound port. */
  async start(listen: { host: string; port: number }): Promise<number> {
    const { limits } = this.options;
    const aedes = await Aedes.createBroker({
      preConnect: (client, packet, done) => {
        if (packet.will) this.wills.set(client, packet.will as PublishPacket);
        done(null, true);
      },
      authenticate: (client, _u, _p, done) => this.authenticate(client, done),
      authorizePublish: (client, packet, done) => this.traffic.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.traffic.authorizeSubscribe(client, sub, done),
      // Only commands are ever delivered to devices.
      authorizeForward: (_client, packet) => (COMMANDS_TOPIC.test(packet.topic) ? packet : null),
      maxClientsIdLength: 64,
      connectTimeout: 10_000,
    });
    aedes.on('clientError', (client, err) => {
      const session = this.sessions.ofClient(client);
      if (session) session.endCause ??= 'client_error';
      this.options.logger.debug({ err: err.message, client: client.id }, 'mqtt client error');
    });
    aedes.on('subscribe', (subscriptions, client) => {
      const session = this.sessions.ofClient(client);
      if (
        session &&
        subscriptions.some((s) => (s.qos as number) !== 128 && s.topic === session.topics.commands)
      ) {
        this.commandListeners.add(session);
        this.emit('listening', sessionInfo(session));
      }
    });
    aedes.on('keepaliveTimeout', (client) => {
      const session = this.sessions.ofClient(client);
      if (session) session.endCause ??= 'keepalive_timeout';
    });
    this.aedes = aedes;

    const packetLimit = limits.maxPayloadBytes + PACKET_OVERHEAD;
    this.listener = new DeviceTlsListener({
      tls: this.tls,
      maxConnections: limits.maxConnections,
      connectsPerSourcePerMinute: limits.connectsPerSourcePerMinute,
      handshakeTimeoutMs: limits.tlsHandshakeTimeoutSeconds * 1000,
      pendingHandshakesPerSource: limits.pendingHandshakesPerSource,
      now: this.now,
      onConnection: (socket, peer) => {
        this.peers.set(socket, peer);
        aedes.handle(socket);
        // After Aedes' 'readable' listener, so the socket stays in paused mode: this 'data'
        // listener sees each chunk inside Aedes' read(), before the MQTT parser does.
        guardPacketSize(socket, packetLimit, (announced) => this.oversize(socket, announced));
        batchWritesPerRead(socket);
      },
      onRefusal: (refusal) => this.transportRefused(refusal),
    });
    return this.listener.listen(listen.host, listen.port);
  }

  /**
   * Graceful stop: no new connections, intake calls in flight finish (their PUBACKs go out),
   * then every session ends with cause `hub_stopping` and Aedes closes.
   */
  async stop(): Promise<void> {
    const listener = this.listener;
    const aedes = this.aedes;
    this.listener = undefined;
    this.aedes = undefined;
    const closed = listener?.close();
    await this.traffic.drain(this.options.drainTimeoutMs ?? 5_000);
    await new Promise((resolve) => setImmediate(resolve)); // let the last PUBACKs reach the sockets
    for (const session of [...this.sessions.all()]) this.endSession(session, 'hub_stopping');
    listener?.closeConnections();
    await closed;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }

  /** Plugs in the durable intake (the hub wires ingest here before start). */
  setIntake(intake: TelemetryIntake): void {
    this.traffic.intake = intake;
  }

  /**
   * Swaps TLS material in place; new handshakes use it at once, live sessions are untouched.
   * Material OpenSSL refuses leaves the previous context in force and raises a critical
   * `tls_update_failed` event (the identity gate still refuses revoked devices by their status).
   */
  updateTls(material: Partial<BrokerTlsMaterial>): boolean {
    try {
      this.listener?.updateTls(material);
    } catch (err) {
      this.options.logger.error(
        { err: (err as Error).message },
        'TLS material refused; previous context kept',
      );
      this.trail.event('tls_update_failed', 'critical', { details: { crl: material.crl !== undefined } });
      return false;
    }
    this.tls = { ...this.tls, ...material };
    return true;
  }

  /** Swaps the CRLs (issuing and root, PEM) in the TLS context. Call on every CRL change. */
  updateCrl(crlPem: string | string[]): boolean {
    return this.updateTls({ crl: crlPem });
  }

  /**
   * Ends a device's live session now (revoke, disable, quarantine, wipe). Refusing the device
   * from then on is the identity gate's job: it reads the device status at every connect.
   */
  kick(deviceId: string, cause: string): boolean {
    // A device relayed by a gateway has no session: its gateway's map of bound devices is what
    // must change (a lifecycle change, a new patient, an unbinding).
    this.refreshRelaysOf(deviceId);
    const session = this.sessions.ofDevice(deviceId);
    if (!session) return false;
    this.trail.kicked(session.identity, cause);
    this.endSession(session, `kicked:${cause}`);
    return true;
  }

  /**
   * Reloads the bound devices of every connected gateway from the store (the hub calls it each
   * second, so a binding changed by the CLI takes effect within one).
   */
  refreshGateways(): void {
    for (const session of this.sessions.all())
      if (session.relay) this.loadRelay(session.identity.deviceId, session.relay);
  }

  /** Reloads one gateway's bound devices, when it is connected. */
  refreshGateway(gatewayId: string): void {
    const relay = this.sessions.ofDevice(gatewayId)?.relay;
    if (relay) this.loadRelay(gatewayId, relay);
  }

  /** The gateways that relay (or relayed, until now) this device. */
  private refreshRelaysOf(deviceId: string): void {
    const bound = this.options.store.gatewayBindings.ofDevice(deviceId);
    if (bound) this.refreshGateway(bound.gatewayId);
    for (const session of this.sessions.all())
      if (session.relay?.devices.has(deviceId) && session.identity.deviceId !== bound?.gatewayId)
        this.loadRelay(session.identity.deviceId, session.relay);
  }

  private loadRelay(gatewayId: string, relay: GatewayRelay): void {
    const devices = new Map<string, RelayedDevice>();
    for (const binding of this.options.store.gatewayBindings.boundDevices(gatewayId)) {
      // The same via object while the binding lasts: the intake pins the identity on it.
      const previous = relay.devices.get(binding.deviceId);
      const via =
        previous?.binding.id === binding.id && previous.intakeDevice.via
          ? previous.intakeDevice.via
          : { gatewayId, bindingId: binding.id, systemId: binding.systemId, serial: binding.serial };
      via.systemId ??= binding.systemId;
      via.serial ??= binding.serial;
      devices.set(binding.deviceId, {
        binding,
        intakeDevice: {
          deviceId: binding.deviceId,
          kind: binding.kind,
          patientId: binding.patientId,
          enrollment: `binding-${binding.id}`,
          via,
        },
      });
    }
    relay.devices = devices;
  }

  liveSessions(): LiveSessionInfo[] {
    return this.sessions.info();
  }

  isConnected(deviceId: string): boolean {
    return this.sessions.ofDevice(deviceId) !== undefined;
  }

  /** Whether the device's live session subscribed to its commands topic (a command would reach it). */
  isListening(deviceId: string): boolean {
    const session = this.sessions.ofDevice(deviceId);
    return session !== undefined && this.commandListeners.has(session);
  }

  /** Publishes QoS 1 to the device's commands topic (resolves once handed to Aedes). */
  publishToDevice(deviceId: string, payload: Buffer): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) return Promise.reject(new Error('broker is not running'));
    const packet = {
      cmd: 'publish' as const,
      topic: deviceTopics(deviceId).commands,
      payload,
      qos: 1 as const,
      retain: false,
      dup: false,
    };
    return new Promise((resolve, reject) =>
      aedes.publish(packet, (err?: Error) => (err ? reject(err) : resolve())),
    );
  }

  private authenticate(client: Client, done: (err: AuthenticateError | null, ok: boolean | null) => void) {
    const socket = client.conn as TLSSocket;
    const address = socket.remoteAddress ?? 'unknown';
    const peer = this.peers.get(socket) ?? socket.getPeerCertificate();
    this.peers.delete(socket); // read once: the session keeps what it needs
    const decision = this.gate.decide(peer.serialNumber ? peer : undefined, client.id, address);
    const deviceId = decision.ok ? decision.identity.deviceId : decision.deviceId;
    // Only names from certificates our CA issued get per-device counters (TLS checked the chain).
    const counters = deviceId ? this.metrics.device(deviceId) : undefined;
    if (counters) {
      counters.connectionAttempts += 1;
      counters.lastSourceAddress = address;
    }
    const refuse = (code: ConnectRefusal, returnCode: 2 | 5) => {
      this.metrics.refusals.inc({ reason: code });
      if (counters) counters.authorizationFailures += 1;
      this.trail.refused(code, deviceId, address);
      const err = new Error('not authorized') as AuthenticateError;
      err.returnCode = returnCode;
      done(err, false);
    };
    if (!decision.ok) return refuse(decision.code, decision.returnCode);
    const identity = decision.identity;
    const isGateway = identity.kind === GATEWAY_KIND;
    const topics = isGateway ? gatewayOwnTopics(identity.deviceId) : deviceTopics(identity.deviceId);
    if (!authorizeDeviceWill(topics, this.wills.get(client))) return refuse('WILL_NOT_ALLOWED', 5);

    const { limits } = this.options;
    const now = this.now();
    let relay: GatewayRelay | undefined;
    if (isGateway) {
      relay = { prefix: gatewayRelayPrefix(identity.deviceId), devices: new Map() };
      this.loadRelay(identity.deviceId, relay);
    }
    const session: LiveSession = {
      identity,
      relay,
      will: this.wills.get(client),
      intakeDevice: {
        deviceId: identity.deviceId,
        kind: identity.kind,
        patientId: identity.patientId,
        enrollment: identity.enrollment,
      },
      client,
      topics,
      connectedAt: now,
      messages: new TokenBucket(limits.deviceMessagesPerSecond, limits.deviceMessagesPerSecond * 2, now),
      bytes: new TokenBucket(limits.deviceBytesPerSecond, limits.deviceBytesPerSecond * 2, now),
      counters: this.metrics.device(identity.deviceId),
      violations: 0,
      ended: false,
      endCause: undefined,
    };
    const previous = this.sessions.add(session);
    if (previous) this.takeover(previous, session);
    this.bySocket.set(socket, session);
    session.counters.firstSeen ??= now;
    session.counters.lastSeen = now;
    this.trail.connected(identity);
    socket.once('close', () => this.endSession(session, session.endCause ?? 'closed', false));
    this.emit('connected', sessionInfo(session));
    done(null, true);
  }

  /**
   * A second session with a live device's client id: Aedes closes the old one (MQTT takeover).
   * Always a conflicting-client-id event; the same certificate from another address is also a
   * shared-certificate event (its key was copied).
   */
  private takeover(previous: LiveSession, next: LiveSession): void {
    const { deviceId, serial, address } = next.identity;
    const details = {
      previousSource: previous.identity.address,
      serial,
      previousSerial: previous.identity.serial,
    };
    this.trail.event('conflicting_client_id', 'high', { deviceId, source: address, details });
    if (previous.identity.serial === serial && previous.identity.address !== address) {
      this.trail.event('shared_certificate', 'critical', { deviceId, source: address, details });
    }
    this.endSession(previous, 'takeover', false);
  }

  /** A packet announced or carried more than the limit: the connection ends before it is read. */
  private oversize(socket: TLSSocket, announced: number): void {
    const session = this.bySocket.get(socket);
    this.metrics.aclDenials.inc({ reason: 'PACKET_TOO_LARGE' });
    if (session) session.counters.authorizationFailures += 1;
    this.trail.event('packet_too_large', 'medium', {
      deviceId: session?.identity.deviceId,
      source: session?.identity.address ?? socket.remoteAddress ?? 'unknown',
      details: { announced, limit: this.options.limits.maxPayloadBytes },
    });
    if (session) this.endSession(session, 'packet_too_large');
    socket.destroy();
  }

  private transportRefused(refusal: TransportRefusalEvent): void {
    this.metrics.refusals.inc({ reason: refusal.code });
    this.trail.transportRefused(refusal);
  }

  /** Ends a session once: records the disconnect, and closes the connection unless it is gone. */
  private endSession(session: LiveSession, cause: string, close = true): void {
    if (!session.ended) {
      session.ended = true;
      session.endCause = cause;
      this.sessions.remove(session);
      session.counters.disconnects += 1;
      this.metrics.disconnects.inc({ cause: cause.split(':')[0]! });
      this.trail.disconnected(session.identity, cause);
      this.emit('disconnected', sessionInfo(session), cause);
    }
    if (close) {
      session.client.close();
      session.client.conn.destroy();
    }
  }
}

function sessionInfo(session: LiveSession): LiveSessionInfo {
  const { deviceId, serial, address } = session.identity;
  return { deviceId, serial, address, connectedAt: session.connectedAt };
}
