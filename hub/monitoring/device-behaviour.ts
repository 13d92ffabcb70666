// Device behaviour monitoring, the Device Defender "detect" idea: per-device baselines of message
// rate, authorization failures, disconnects and source network, from the broker's counters.
// A device that leaves its baseline raises a security event; the policy
// (VITALGATE_AUTO_QUARANTINE_RULES) decides per rule whether it is also quarantined. A monitor
// that stops reporting is a clinical risk too: silence raises an event.
import type { HubConfig } from '../../core/config.js';
import type { SecuritySeverity } from '../../core/store/security-events.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import type { DeviceCounters } from '../../broker/metrics.js';
import type { DeviceLifecycle } from '../../pki/lifecycle.js';

export type BehaviourRule = 'flood' | 'auth_failures' | 'flapping' | 'new_network' | 'silence';

interface Baseline {
  messages: number;
  authorizationFailures: number;
  disconnects: number;
  /** Exponentially weighted message rate, per second. */
  rate: number;
  networks: Set<string>;
  silent: boolean;
}

const AUTH_FAILURE_BURST = 5;
const FLAPPING_DISCONNECTS = 5;

/** The /24 (IPv4) or /64 (IPv6) a source address belongs to. */
function networkOf(address: string): string {
  const plain = address.replace(/^::ffff:/, '');
  if (plain.includes('.')) return plain.split('.').slice(0, 3).join('.');
  return plain.split(':').slice(0, 4).join(':');
}

export class DeviceBehaviourMonitor {
  private readonly baselines = new Map<string, Baseline>();

  constructor(
    private readonly deps: {
      config: Pick<
        HubConfig,
        'behaviourWindowSeconds' | 'floodMessagesPerSecond' | 'autoQuarantineRules' | 'deviceSilentMinutes'
      >;
      store: ControlPlane;
      lifecycle: DeviceLifecycle;
      counters: () => ({ deviceId: string } & DeviceCounters)[];
    },
  ) {}

  /** Whether the device has a baseline yet (its first window only learns). */
  watches(deviceId: string): boolean {
    return this.baselines.has(deviceId);
  }

  /** One evaluation window. Returns the rules that fired, per device. */
  async tick(now = Date.now()): Promise<{ deviceId: string; rule: BehaviourRule }[]> {
    const fired: { deviceId: string; rule: BehaviourRule }[] = [];
    const windowS = this.deps.config.behaviourWindowSeconds;
    for (const c of this.deps.counters()) {
      const base = this.baselines.get(c.deviceId);
      if (!base) {
        this.baselines.set(c.deviceId, {
          messages: c.messagesSent,
          authorizationFailures: c.authorizationFailures,
          disconnects: c.disconnects,
          rate: c.messagesSent / windowS,
          networks: new Set(c.lastSourceAddress ? [networkOf(c.lastSourceAddress)] : []),
          silent: false,
        });
        continue;
      }
      const rate = (c.messagesSent - base.messages) / windowS;
      const flood = rate > Math.max(this.deps.config.floodMessagesPerSecond, base.rate * 5);
      if (flood) fired.push({ deviceId: c.deviceId, rule: 'flood' });
      if (c.authorizationFailures - base.authorizationFailures >= AUTH_FAILURE_BURST)
        fired.push({ deviceId: c.deviceId, rule: 'auth_failures' });
      if (c.disconnects - base.disconnects >= FLAPPING_DISCONNECTS)
        fired.push({ deviceId: c.deviceId, rule: 'flapping' });
      if (c.lastSourceAddress) {
        const network = networkOf(c.lastSourceAddress);
        if (base.networks.size > 0 && !base.networks.has(network))
          fired.push({ deviceId: c.deviceId, rule: 'new_network' });
        base.networks.add(network);
      }
      const silentNow =
        c.lastSeen !== null && now - c.lastSeen > this.deps.config.deviceSilentMinutes * 60_000;
      if (silentNow && !base.silent && this.deps.store.devices.get(c.deviceId)?.status === 'active') {
        fired.push({ deviceId: c.deviceId, rule: 'silence' });
      }
      base.silent = silentNow;
      base.messages = c.messagesSent;
      base.authorizationFailures = c.authorizationFailures;
      base.disconnects = c.disconnects;
      // The baseline learns only from normal windows, so a flood does not become the norm.
      if (!flood) base.rate = base.rate * 0.8 + rate * 0.2;
    }
    for (const { deviceId, rule } of fired) await this.act(deviceId, rule, now);
    return fired;
  }

  private async act(deviceId: string, rule: BehaviourRule, now: number): Promise<void> {
    const quarantine = this.deps.config.autoQuarantineRules.includes(rule);
    const severity: SecuritySeverity = quarantine ? 'high' : rule === 'silence' ? 'medium' : 'low';
    this.deps.store.securityEvents.add({
      kind: `behaviour_${rule}`,
      severity,
      deviceId,
      details: { quarantine, at: now },
    });
    const device = this.deps.store.devices.get(deviceId);
    if (quarantine && device && device.status === 'active') {
      await this.deps.lifecycle.apply(
        deviceId,
        'quarantine',
        `automatic: ${rule} outside the device's baseline`,
        'system:monitor',
      );
    }
  }
}
