// The live device sessions: one per device id, found by device (kick, commands) and by aedes
// client (every hook). Everything a hook needs per message is resolved once, at connect.
import type { Client, PublishPacket } from 'aedes';
import type { BoundDevice } from '../core/store/gateway-bindings.js';
import type { DeviceTopics } from './acl.js';
import type { DeviceIdentity } from './identity.js';
import type { IntakeDevice } from './intake.js';
import type { TokenBucket } from './limits.js';
import type { DeviceCounters } from './metrics.js';

/** A device bound to a connected gateway, as its relayed messages reach the intake. */
export interface RelayedDevice {
  binding: BoundDevice;
  intakeDevice: IntakeDevice;
}

/** What a gateway's session may relay: its topic prefix and its bound devices, by id. */
export interface GatewayRelay {
  prefix: string;
  /** Reloaded whenever a binding or a bound device changes (refreshGateway). */
  devices: Map<string, RelayedDevice>;
}

export interface LiveSession {
  identity: DeviceIdentity;
  /** Set for a gateway's session only. */
  relay: GatewayRelay | undefined;
  /** What the intake is told about the sender (no serial, no address). */
  intakeDevice: IntakeDevice;
  client: Client;
  /** The last will from its CONNECT (checked there), to recognise it when Aedes publishes it. */
  will: PublishPacket | undefined;
  topics: DeviceTopics;
  connectedAt: number;
  messages: TokenBucket;
  bytes: TokenBucket;
  counters: DeviceCounters;
  violations: number;
  /** Set once the session is over (kicked, taken over, closed); its disconnect is recorded then. */
  ended: boolean;
  /** Why the broker is ending it, when the broker is the one ending it. */
  endCause: string | undefined;
}

export interface LiveSessionInfo {
  deviceId: string;
  serial: string;
  address: string;
  connectedAt: number;
}

export class SessionRegistry {
  private readonly byDevice = new Map<string, LiveSession>();
  private readonly byClient = new WeakMap<Client, LiveSession>();

  get size(): number {
    return this.byDevice.size;
  }

  /** Adds a session; returns the one it replaces (same device id), if any. */
  add(session: LiveSession): LiveSession | undefined {
    const previous = this.byDevice.get(session.identity.deviceId);
    this.byDevice.set(session.identity.deviceId, session);
    this.byClient.set(session.client, session);
    return previous;
  }

  /** Removes the session if it is still the device's current one. */
  remove(session: LiveSession): void {
    if (this.byDevice.get(session.identity.deviceId) === session) {
      this.byDevice.delete(session.identity.deviceId);
    }
  }

  ofDevice(deviceId: string): LiveSession | undefined {
    return this.byDevice.get(deviceId);
  }

  ofClient(client: Client | null): LiveSession | undefined {
    return client ? this.byClient.get(client) : undefined;
  }

  all(): IterableIterator<LiveSession> {
    return this.byDevice.values();
  }

  info(): LiveSessionInfo[] {
    return [...this.byDevice.values()].map((s) => ({
      deviceId: s.identity.deviceId,
      serial: s.identity.serial,
      address: s.identity.address,
      connectedAt: s.connectedAt,
    }));
  }
}
