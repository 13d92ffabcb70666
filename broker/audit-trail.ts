// What the broker writes down: audit entries (connect, refusal with its code, disconnect with its
// cause, ACL denial, lifecycle kick) and security events (the deployment checks and the API read
// them). Ids, codes and addresses only: never payloads, never patient ids.
import type { ControlPlane } from '../core/store/control-plane.js';
import type { SecurityEvent, SecuritySeverity } from '../core/store/security-events.js';
import { TokenBucket } from './limits.js';
import type { TransportRefusalEvent } from './tls-listener.js';

export interface SessionParty {
  deviceId: string;
  serial: string;
  address: string;
}

/** Transport refusals an anonymous peer can cause at will are recorded up to this rate per source. */
const TRANSPORT_RECORDS_PER_MINUTE = 20;

export class BrokerAuditTrail {
  private readonly budgets = new Map<string, TokenBucket>();
  private readonly flooding = new Set<string>();

  constructor(
    private readonly store: ControlPlane,
    private readonly publish: (event: SecurityEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  connected(party: SessionParty): void {
    this.store.audit.append({
      actor: `device:${party.deviceId}`,
      action: 'broker.connect',
      target: `device:${party.deviceId}`,
      outcome: 'success',
      source: party.address,
      details: { serial: party.serial },
    });
  }

  /** The certificate was good, the identity gate said no. */
  refused(code: string, deviceId: string | undefined, source: string): void {
    this.store.audit.append({
      actor: `device:${deviceId ?? 'unknown'}`,
      action: 'broker.connect',
      target: deviceId ? `device:${deviceId}` : undefined,
      outcome: 'denied',
      source,
      details: { code },
    });
    this.event('connection_refused', 'medium', { deviceId, source, details: { code } });
  }

  /**
   * TLS said no (or the listener's limits did). A peer without any credential can cause these
   * at will, so each source gets a recording budget; past it only the metric counts.
   */
  transportRefused(refusal: TransportRefusalEvent): boolean {
    if (refusal.code === 'HANDSHAKE_ABORTED') return false; // the peer left: nothing was refused
    if (!this.withinBudget(refusal.source)) {
      // Once per flood: say that refusals from this source are no longer recorded one by one.
      if (!this.flooding.has(refusal.source)) {
        this.flooding.add(refusal.source);
        this.event('connection_refusal_flood', 'high', {
          source: refusal.source,
          details: { code: refusal.code, recordedPerMinute: TRANSPORT_RECORDS_PER_MINUTE },
        });
      }
      return false;
    }
    this.flooding.delete(refusal.source);
    const details = { code: refusal.code, ...(refusal.cause ? { cause: refusal.cause } : {}) };
    this.store.audit.append({
      actor: 'device:unknown',
      action: 'broker.connect',
      outcome: 'denied',
      source: refusal.source,
      details,
    });
    const severity: SecuritySeverity = refusal.code === 'CRL_UNAVAILABLE' ? 'critical' : 'medium';
    this.event('connection_refused', severity, { source: refusal.source, details });
    return true;
  }

  disconnected(party: SessionParty, cause: string): void {
    this.store.audit.append({
      actor: `device:${party.deviceId}`,
      action: 'broker.disconnect',
      target: `device:${party.deviceId}`,
      outcome: 'success',
      source: party.address,
      details: { cause },
    });
  }

  /** `relayedDevice`: the device a gateway published for, when the refusal is about it. */
  aclDenied(party: SessionParty, code: string, total: number, relayedDevice?: string): void {
    const relayed = relayedDevice === undefined ? {} : { relayedDevice };
    this.store.audit.append({
      actor: `device:${party.deviceId}`,
      action: 'broker.acl',
      target: `device:${party.deviceId}`,
      outcome: 'denied',
      source: party.address,
      details: { code, ...relayed },
    });
    this.event('acl_violation', 'medium', {
      deviceId: party.deviceId,
      source: party.address,
      details: { code, total, ...relayed },
    });
  }

  kicked(party: SessionParty, cause: string): void {
    this.store.audit.append({
      actor: 'system',
      action: 'broker.kick',
      target: `device:${party.deviceId}`,
      outcome: 'success',
      source: party.address,
      details: { cause },
    });
  }

  quarantined(deviceId: string, total: number): void {
    this.store.audit.append({
      actor: 'system',
      action: 'device.quarantine',
      target: `device:${deviceId}`,
      outcome: 'success',
      details: { reason: 'acl_violations', total },
    });
    this.event('device_quarantined', 'high', { deviceId, details: { reason: 'acl_violations', total } });
  }

  event(
    kind: string,
    severity: SecuritySeverity,
    event: { deviceId?: string | undefined; source?: string; details?: Record<string, unknown> },
  ): SecurityEvent {
    const stored = this.store.securityEvents.add({
      kind,
      severity,
      deviceId: event.deviceId ?? null,
      source: event.source ?? null,
      details: event.details ?? null,
    });
    this.publish(stored);
    return stored;
  }

  private withinBudget(source: string): boolean {
    const now = this.now();
    let bucket = this.budgets.get(source);
    if (!bucket) {
      if (this.budgets.size > 10_000) {
        this.budgets.clear();
        this.flooding.clear();
      }
      bucket = new TokenBucket(TRANSPORT_RECORDS_PER_MINUTE / 60, TRANSPORT_RECORDS_PER_MINUTE, now);
      this.budgets.set(source, bucket);
    }
    return bucket.take(1, now);
  }
}
