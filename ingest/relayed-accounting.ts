// What the intake records about readings relayed by gateways, beside the readings themselves:
// the measuring device's identity pinned by its first accepted reading (when the operator gave
// none), refusals for a spoofed identity (audited, a security event), and the device clock's
// drift against the gateway's (kept on the binding for check VG-GW-005; written when it moved by
// more than a second or an hour has passed, so not once per message).
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { GatewayVia } from '../core/store/gateway-bindings.js';

const DRIFT_STEP_MS = 1_000;
const DRIFT_EVERY_MS = 3_600_000;
/** A binding raises at most one identity-mismatch event per this period (each one is audited). */
const MISMATCH_EVENT_EVERY_MS = 60_000;

export class RelayedAccounting {
  private readonly drift = new Map<number, { driftMs: number; at: number }>();
  private readonly mismatchRaised = new Map<number, number>();

  constructor(
    private readonly store: Pick<ControlPlane, 'gatewayBindings' | 'audit' | 'securityEvents'>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A reading whose device identity is not the binding's: audited; a security event. */
  identityMismatch(device: { deviceId: string }, via: GatewayVia): void {
    this.store.audit.append({
      actor: `device:${via.gatewayId}`,
      action: 'gateway.relay',
      target: `device:${device.deviceId}`,
      outcome: 'denied',
      details: { code: 'DEVICE_IDENTITY_MISMATCH', binding: via.bindingId },
    });
    const now = this.now();
    const last = this.mismatchRaised.get(via.bindingId);
    if (last !== undefined && now - last < MISMATCH_EVENT_EVERY_MS) return;
    this.mismatchRaised.set(via.bindingId, now);
    this.store.securityEvents.add({
      kind: 'gateway_identity_mismatch',
      severity: 'high',
      deviceId: via.gatewayId,
      details: {
        relayedDevice: device.deviceId,
        note: 'the gateway relayed a reading naming another measuring device than the one bound: a spoofed or swapped device; the reading is a dead letter',
      },
    });
    this.logger.warn(
      { gateway: via.gatewayId, device: device.deviceId },
      'relayed reading names another device',
    );
  }

  /** After a relayed message is durable: pins the identity on first use; keeps the clock drift. */
  accepted(
    device: { deviceId: string },
    via: GatewayVia,
    identity: { systemId: string; serial: string | null },
    driftMs: number | undefined,
    now: number,
  ): void {
    if (via.systemId === null) {
      if (this.store.gatewayBindings.pin(via.bindingId, identity.systemId, identity.serial)) {
        this.store.audit.append({
          actor: 'system:ingest',
          action: 'gateway.pin',
          target: `device:${device.deviceId}`,
          outcome: 'success',
          details: { gateway: via.gatewayId, binding: via.bindingId, systemId: identity.systemId },
        });
      }
      via.systemId = identity.systemId;
      via.serial ??= identity.serial;
    }
    if (driftMs === undefined) return;
    const last = this.drift.get(via.bindingId);
    if (last && Math.abs(last.driftMs - driftMs) < DRIFT_STEP_MS && now - last.at < DRIFT_EVERY_MS) return;
    this.drift.set(via.bindingId, { driftMs, at: now });
    this.store.gatewayBindings.recordDrift(via.bindingId, driftMs);
  }
}
