// Device metrics in the cloud-side Device Defender style: per device and in total, messages and
// bytes sent, authorization failures, connection attempts, disconnects, last source address,
// first and last seen. Prometheus labels carry device ids and reason codes, never patient ids.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface DeviceCounters {
  messagesSent: number;
  bytesSent: number;
  authorizationFailures: number;
  connectionAttempts: number;
  disconnects: number;
  lastSourceAddress: string | null;
  firstSeen: number | null;
  lastSeen: number | null;
}

export class BrokerMetrics {
  private readonly devices = new Map<string, DeviceCounters>();
  readonly connections: Gauge;
  readonly refusals: Counter<'reason'>;
  readonly messages: Counter;
  readonly bytes: Counter;
  readonly aclDenials: Counter<'reason'>;
  readonly disconnects: Counter<'cause'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connections = new Gauge({
      name: 'vitalgate_mqtt_connections',
      help: 'Live device sessions',
      registers,
    });
    this.refusals = new Counter({
      name: 'vitalgate_mqtt_connection_refusals_total',
      help: 'Device connections refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.messages = new Counter({
      name: 'vitalgate_mqtt_messages_total',
      help: 'Messages received from devices',
      registers,
    });
    this.bytes = new Counter({
      name: 'vitalgate_mqtt_bytes_total',
      help: 'Payload bytes received from devices',
      registers,
    });
    this.aclDenials = new Counter({
      name: 'vitalgate_mqtt_authorization_failures_total',
      help: 'Publishes and subscriptions refused, by reason',
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
    const perDevice = (name: string, help: string, value: (c: DeviceCounters) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['device_id'],
        registers,
        collect() {
          this.reset();
          for (const [id, c] of devices) this.set({ device_id: id }, value(c));
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
      'Authorization failures per device since the hub started',
      (c) => c.authorizationFailures,
    );
    perDevice(
      'vitalgate_device_connection_attempts',
      'Connection attempts per device',
      (c) => c.connectionAttempts,
    );
    perDevice('vitalgate_device_disconnects', 'Disconnects per device', (c) => c.disconnects);
  }

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
}
