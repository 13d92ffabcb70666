// A simulated device that behaves like firmware: it makes its own P-256 key and enrolls with a
// one-time token, keeps key, certificate, seq and buffer in its own directory, connects with
// mutual TLS (client id = device id), and publishes telemetry QoS 1 from its on-disk outbox in
// seq order, one message in flight, removing each only on its PUBACK. Offline, it keeps
// buffering and reconnects with jittered exponential backoff. It verifies every command and acts
// on it (wipe, disable, rotate-cert, config, ping), and renews its certificate before it expires.
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import type { DeviceKind } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import type { SignedCommand } from '../pki/command-signature.js';
import { ReconnectBackoff, type BackoffPolicy } from './backoff.js';
import { CommandInbox, carryOut, commandAck } from './device-commands.js';
import { closeConnection, openConnection, publishAcked, type ConnectFailure } from './device-connection.js';
import { createDeviceKeyRequest } from './device-keys.js';
import { newCounters, type DeviceCounters } from './device-counters.js';
import { DeviceStateDir, type DeviceCredentials } from './device-state.js';
import {
  credentialsFromReply,
  type EnrollmentReply,
  type EnrollmentTransport,
} from './enrollment-transport.js';
import { Outbox } from './outbox.js';
import type { Reading } from './signals/index.js';

export interface DeviceClientOptions {
  deviceId: string;
  kind: DeviceKind;
  /** The device's own directory (key, certificate, state, outbox). */
  dir: string;
  enrollment: EnrollmentTransport;
  /** One-time enrollment token, used when the device holds no certificate yet. */
  token?: string | undefined;
  /** Where to connect, instead of the endpoint the enrollment reply named. */
  broker?: { host: string; port: number } | undefined;
  /** Source address of the device's connections. */
  localAddress?: string | undefined;
  /** Messages the outbox holds at most (the oldest is dropped beyond). Default 10,000. */
  outboxCapacity?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Renew once less than this share of the certificate's lifetime is left. Default 1/3. */
  renewAtRemaining?: number;
  /** How often the renewal is checked while running, ms. Default 1 h. */
  renewCheckMs?: number;
  firmware?: string;
  now?: () => number;
  random?: () => number;
}

export type DeviceState = 'stopped' | 'connecting' | 'online' | 'offline' | 'wiped';

export type { DeviceCounters };

export interface DeviceClientEvents {
  online: [];
  offline: [cause: string];
  refused: [code: string];
  acked: [seq: number, latencyMs: number, readings: number];
  dropped: [seq: number, readings: number];
  command: [type: string, outcome: 'done' | 'rejected' | 'ignored', code: string | undefined];
  renewed: [serial: string];
  wiped: [];
}

const FIRMWARE = '1.4.2';
const STATUS_EVERY_MS = 300_000;

export class DeviceClient extends EventEmitter<DeviceClientEvents> {
  readonly counters: DeviceCounters = newCounters();
  /** The last refusal code the hub gave (or why it could not be reached). */
  lastFailure: ConnectFailure | undefined;
  private creds: DeviceCredentials | undefined;
  private outbox: Outbox;
  private readonly backoff: ReconnectBackoff;
  private readonly inbox: CommandInbox;
  private readonly now: () => number;
  private client: MqttClient | undefined;
  private running = false;
  private flushing = false;
  private reconnectNow = false;
  private localAddress: string | undefined;
  private readonly attempted = new Set<number>();
  private timers: NodeJS.Timeout[] = [];
  private retry: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private statusTimer: NodeJS.Timeout | undefined;
  private current: DeviceState = 'stopped';

  private constructor(
    private readonly options: DeviceClientOptions,
    private readonly state: DeviceStateDir,
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.outbox = Outbox.open(state.outboxDir, options.outboxCapacity);
    this.backoff = new ReconnectBackoff(options.backoff, options.random);
    this.inbox = new CommandInbox(state, () => this.creds?.signerPem, this.now);
    this.creds = state.credentials();
    this.localAddress = options.localAddress;
    if (state.wiped && !this.creds) this.current = 'wiped';
  }

  /** Opens the device's directory and enrolls when it holds no certificate and has a token. */
  static async open(options: DeviceClientOptions): Promise<DeviceClient> {
    const device = new DeviceClient(
      options,
      DeviceStateDir.open(options.dir, options.deviceId, options.kind),
    );
    if (!device.creds) {
      if (!options.token) {
        throw new VitalGateError(
          device.state.wiped ? 'DEVICE_WIPED' : 'DEVICE_NOT_ENROLLED',
          `device ${options.deviceId} holds no certificate and has no enrollment token`,
        );
      }
      await device.enroll(options.token);
    }
    return device;
  }

  get deviceId(): string {
    return this.options.deviceId;
  }

  get kind(): DeviceKind {
    return this.options.kind;
  }

  get status(): DeviceState {
    return this.current;
  }

  get disabled(): boolean {
    return this.state.disabled;
  }

  get credentials(): DeviceCredentials | undefined {
    return this.creds;
  }

  /** Messages waiting in the outbox for a PUBACK. */
  get buffered(): number {
    return this.outbox.size;
  }

  get bufferedReadings(): number {
    return this.outbox.readings;
  }

  get lastSeq(): number {
    return this.state.lastSeq;
  }

  /** Seqs waiting in the outbox, in send order. */
  bufferedSeqs(): number[] {
    return this.outbox.seqs();
  }

  /** Enrolls (or re-enrolls) with a one-time token and a fresh key. */
  async enroll(token: string): Promise<void> {
    const { keyPem, csrPem } = await createDeviceKeyRequest(this.deviceId);
    this.save(await this.options.enrollment.enroll(token, csrPem), keyPem);
  }

  /** Renews the certificate with a fresh key; reconnects with it when online (unless told not to). */
  async renew(options: { reconnect?: boolean } = {}): Promise<void> {
    const creds = this.creds;
    if (!creds)
      throw new VitalGateError('DEVICE_NOT_ENROLLED', `device ${this.deviceId} holds no certificate`);
    const { keyPem, csrPem } = await createDeviceKeyRequest(this.deviceId);
    const reply = await this.options.enrollment.renew(csrPem, creds);
    this.save(reply, keyPem);
    this.counters.renewals += 1;
    this.emit('renewed', reply.serial);
    if (options.reconnect !== false) this.reconnectWithNewCertificate();
  }

  private reconnectWithNewCertificate(): void {
    if (!this.client) return;
    this.reconnectNow = true;
    this.client.end(false);
  }

  /** Whether less than the configured share of the certificate's lifetime is left. */
  renewalDue(at = this.now()): boolean {
    const creds = this.creds;
    if (!creds) return false;
    const lifetime = creds.notAfter - creds.issuedAt;
    return at >= creds.notAfter - lifetime * (this.options.renewAtRemaining ?? 1 / 3);
  }

  start(): void {
    if (this.running || !this.creds) return;
    this.running = true;
    this.startedAt = this.now();
    const check = setInterval(() => void this.renewIfDue(), this.options.renewCheckMs ?? 3_600_000);
    check.unref();
    this.timers.push(check);
    this.armStatus(STATUS_EVERY_MS);
    void this.connect();
  }

  /** Disconnects (the outbox stays on disk for the next start). */
  async stop(): Promise<void> {
    this.running = false;
    this.clearTimers();
    const client = this.client;
    this.client = undefined;
    if (client) await closeConnection(client);
    if (this.current !== 'wiped') this.current = 'stopped';
  }

  /**
   * Measures: the readings become the next telemetry message, persisted (seq first) before it is
   * published. Returns its seq, or undefined when the device is disabled, wiped or has nothing.
   */
  record(readings: readonly Reading[], ts = this.now()): number | undefined {
    if (!this.creds || this.state.disabled || readings.length === 0) return undefined;
    const seq = this.state.nextSeq(this.outbox.lastSeq ?? 0);
    const payload = JSON.stringify({ v: 1, seq, ts: Math.round(ts), readings });
    for (const dropped of this.outbox.append(seq, payload, readings.length)) {
      this.counters.dropped += 1;
      this.counters.droppedReadings += dropped.readings;
      this.attempted.delete(dropped.seq);
      this.emit('dropped', dropped.seq, dropped.readings);
    }
    this.counters.recorded += 1;
    this.counters.recordedReadings += readings.length;
    void this.flush();
    return seq;
  }

  /** Resolves true once the outbox is empty, false if `timeoutMs` passed first. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.outbox.size > 0 && !this.state.disabled && this.creds) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.outbox.size === 0;
  }

  private save(reply: EnrollmentReply, keyPem: string): void {
    const creds = credentialsFromReply(reply, keyPem);
    const wasWiped = this.state.wiped;
    this.state.saveCredentials(creds);
    this.creds = creds;
    if (wasWiped) {
      this.outbox = Outbox.open(this.state.outboxDir, this.options.outboxCapacity);
      this.current = 'stopped';
    }
  }

  private clearTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.retry) clearTimeout(this.retry);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.connect(), delayMs);
  }

  private async connect(): Promise<void> {
    this.retry = undefined;
    if (!this.running || this.client) return;
    await this.renewIfDue();
    const creds = this.creds;
    if (!creds || !this.running) return;
    this.current = 'connecting';
    this.counters.connectAttempts += 1;
    const endpoint = this.options.broker ?? creds.mqtt;
    let client: MqttClient;
    try {
      client = await openConnection(
        { ...endpoint, localAddress: this.localAddress },
        { deviceId: this.deviceId, ...creds },
      );
    } catch (err) {
      const failure = err as ConnectFailure;
      this.lastFailure = failure;
      if (failure.code === 'EADDRNOTAVAIL') this.localAddress = undefined; // no such local address here
      if (failure.refused) {
        this.counters.refused += 1;
        this.emit('refused', failure.code);
      }
      this.current = 'offline';
      return this.schedule(this.backoff.next());
    }
    if (!this.running) return void client.end(true);
    this.client = client;
    this.backoff.reset();
    this.lastFailure = undefined;
    this.counters.connects += 1;
    client.on('message', (_topic, payload) => void this.onCommand(client, payload));
    client.on('close', () => this.onClose(client));
    try {
      // Online once the hub can reach it: a command sent before the SUBACK would find no one.
      await client.subscribeAsync(`devices/${this.deviceId}/commands`, { qos: 1 });
    } catch {
      return; // the session ended while subscribing; the close handler reconnects
    }
    if (this.client !== client) return;
    this.current = 'online';
    this.publishStatus();
    this.emit('online');
    void this.flush();
  }

  private onClose(client: MqttClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.counters.disconnects += 1;
    if (this.current !== 'wiped') this.current = 'offline';
    this.emit('offline', 'closed');
    const now = this.reconnectNow;
    this.reconnectNow = false;
    if (this.running) this.schedule(now ? 0 : this.backoff.next());
  }

  /** Publishes the outbox in seq order, one message in flight, until it is empty or offline. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const client = this.client;
        if (!client || !this.running || this.state.disabled) return;
        const entry = this.outbox.first();
        if (!entry) return;
        if (this.attempted.has(entry.seq)) this.counters.resent += 1;
        else this.attempted.add(entry.seq);
        const started = performance.now();
        if (!(await publishAcked(client, `devices/${this.deviceId}/telemetry`, entry.payload))) return;
        const latency = performance.now() - started;
        this.attempted.delete(entry.seq);
        if (!this.outbox.remove(entry.seq)) continue; // dropped meanwhile
        this.counters.acked += 1;
        this.counters.ackedReadings += entry.readings;
        this.emit('acked', entry.seq, latency, entry.readings);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Publishes the status message every `everyMs` (the config command can change it). */
  private armStatus(everyMs: number): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = setInterval(() => this.publishStatus(), everyMs);
    this.statusTimer.unref();
  }

  private publishStatus(): void {
    const client = this.client;
    if (!client?.connected) return;
    const uptimeS = Math.max(0, Math.round((this.now() - this.startedAt) / 1000));
    const battery = Math.max(0.05, Math.round((0.97 - uptimeS / 864_000) * 100) / 100);
    const status = { v: 1, firmware: this.options.firmware ?? FIRMWARE, battery, uptimeS };
    client.publish(`devices/${this.deviceId}/status`, JSON.stringify(status), { qos: 1 }, () => {});
  }

  private async renewIfDue(): Promise<void> {
    if (!this.renewalDue()) return;
    try {
      await this.renew();
    } catch {
      // the current certificate still works; the next check tries again
    }
  }

  private async onCommand(client: MqttClient, payload: Buffer): Promise<void> {
    const decision = this.inbox.receive(payload);
    if (!decision.act) {
      this.counters.commandsIgnored += 1;
      this.emit('command', 'unknown', 'ignored', decision.code);
      return;
    }
    const { command } = decision;
    if (command.type === 'wipe') return this.wipe(client, command);
    const { outcome, detail } = await carryOut(command, {
      disable: () => this.state.setDisabled(true),
      renew: () => this.renew({ reconnect: false }),
      setStatusInterval: (seconds) => this.armStatus(seconds * 1000),
    });
    await this.answer(client, command, outcome, detail);
    this.counters[outcome === 'done' ? 'commandsDone' : 'commandsRejected'] += 1;
    this.emit('command', command.type, outcome, detail);
    // A new certificate is used from the next session on, once the ack went out on this one.
    if (command.type === 'rotate-cert' && outcome === 'done') this.reconnectWithNewCertificate();
  }

  /** Wipe: key, certificate and buffer are deleted first, then the ack goes out, then it stops. */
  private async wipe(client: MqttClient, command: SignedCommand): Promise<void> {
    this.state.wipe();
    this.outbox.destroy();
    this.attempted.clear();
    this.creds = undefined;
    this.current = 'wiped';
    await this.answer(client, command, 'done');
    this.counters.commandsDone += 1;
    this.running = false;
    this.clearTimers();
    this.client = undefined;
    await closeConnection(client);
    this.emit('command', 'wipe', 'done', undefined);
    this.emit('wiped');
  }

  private async answer(
    client: MqttClient,
    command: SignedCommand,
    status: 'done' | 'rejected',
    detail?: string,
  ): Promise<void> {
    const ack = JSON.stringify(commandAck(command.id, status, detail));
    await Promise.race([
      publishAcked(client, `devices/${this.deviceId}/commands/ack`, ack),
      new Promise((r) => setTimeout(r, 5_000)),
    ]);
  }
}
