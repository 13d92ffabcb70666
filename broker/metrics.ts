// Device metrics in the cloud-side Device Defender style: per device and in total, messages and
// bytes sent, authorization failures, connection attempts, disconnects, last source address,
// first and last seen. Prometheus labels carry device ids and reason codes, never patient ids;
// the last source address stays out of labels (an address is an identifier under HIPAA) and is
// available from `snapshot()` for the authorised API instead.
//
// The per-message path only bumps plain numbers; prom-client reads them at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface DeviceCounters {
  messagesSent: number;
  bytesSent: number;
  authorizationFailures: number;
  connectionAttempts: number;
  disconnects: number;
  lastSourceAddress: string | null;
  /** Epoch ms. */
  firstSeen: number | null;
  /** Epoch ms: the last connect or message. */
  lastSeen: number | null;
}

export class BrokerMetrics {
  private readonly devices = new Map<string, DeviceCounters>();
  /** Totals over all devices, bumped on the hot path. */
  messagesTotal = 0;
  bytesTotal = 0;
  readonly refusals: Counter<'reason'>;
  readonly aclDenials: Counter<'reason'>;
  readonly disconnects: Counter<'cause'>;

  constructor(registry: Registry, liveSessions: () => number) {
    const registers = [registry];
    const totals = { messages: () => this.messagesTotal, bytes: () => this.bytesTotal };
    new Gauge({
      name: 'vitalgate_mqtt_connections',
      help: 'Live device sessions',
      registers,
      collect() {
        this.set(liveSessions());
      },
    });
    new Counter({
      name: 'vitalgate_mqtt_messages_total',
      help: 'Messages received from devices on their own topics',
      registers,
      collect() {
        this.reset();
        this.inc(totals.messages());
      },
    });
    new Counter({
      name: 'vitalgate_mqtt_bytes_total',
      help: 'Payload bytes received from devices on their own topics',
      registers,
      collect() {
        this.reset();
        this.inc(totals.bytes());
      },
    });
    this.refusals = new Counter({
      name: 'vitalgate_mqtt_connection_refusals_total',
      help: 'Device connections refused (TLS, limits or identity gate), by reason',
      labelNames: ['reason'],
      registers,
    });
    this.aclDenials = new Counter({
      name: 'vitalgate_mqtt_authorization_failures_total',
      help: 'Publishes, subscriptions and packets refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.disconnects = new Counter({
      name: 'vitalgate_mqtt_disconnects_total',
      help: 'Device sessions ended, by cause',
      labelNames: ['cause'],
      registers,
    });
    const devices = this.devices;
    const perDevice = (name: string, help: string, value: (c: DeviceCounters) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['device_id'],
        registers,
        collect() {
          this.reset();
          for (const [id, c] of devices) {
            const v = value(c);
            if (v !== null) this.set({ device_id: id }, v);
          }
        },
      });
    perDevice(
      'vitalgate_device_messages_sent',
      'Messages sent per device since the hub started',
      (c) => c.messagesSent,
    );
    perDevice(
      'vitalgate_device_bytes_sent',
      'Payload bytes sent per device since the hub started',
      (c) => c.bytesSent,
    );
    perDevice(
      'vitalgate_device_authorization_failures',
      'Authorization failures (refused connects, publishes, subscriptions) per device',
      (c) => c.authorizationFailures,
    );
    perDevice(
      'vitalgate_device_connection_attempts',
      'Connection attempts per device',
      (c) => c.connectionAttempts,
    );
    perDevice('vitalgate_device_disconnects', 'Disconnects per device', (c) => c.disconnects);
    perDevice(
      'vitalgate_device_first_seen_seconds',
      'First connect since the hub started, epoch seconds',
      (c) => (c.firstSeen === null ? null : Math.floor(c.firstSeen / 1000)),
    );
    perDevice('vitalgate_device_last_seen_seconds', 'Last connect or message, epoch seconds', (c) =>
      c.lastSeen === null ? null : Math.floor(c.lastSeen / 1000),
    );
  }

  /** The live counters of one device (created on first use); the session keeps a reference. */
  device(deviceId: string): DeviceCounters {
    let counters = this.devices.get(deviceId);
    if (!counters) {
      counters = {
        messagesSent: 0,
        bytesSent: 0,
        authorizationFailures: 0,
        connectionAttempts: 0,
        disconnects: 0,
        lastSourceAddress: null,
        firstSeen: null,
        lastSeen: null,
      };
      this.devices.set(deviceId, counters);
    }
    return counters;
  }

  snapshot(deviceId: string): DeviceCounters | undefined {
    const c = this.devices.get(deviceId);
    return c && { ...c };
  }

  /** Every device seen since the hub started, for the API's device-metrics view. */
  snapshots(): ({ deviceId: string } & DeviceCounters)[] {
    return [...this.devices].map(([deviceId, c]) => ({ deviceId, ...c }));
  }
}
