// The device lifecycle: disable, enable, quarantine, revoke and wipe. Each change needs a reason,
// is audited, and ends the device's live session through the broker (a port the hub wires; the
// CLI, which runs without the broker, leaves it to the running hub, which notices the change).
// With the signed command path wired (the running hub), a connected device is told first: a wipe
// waits for the ack or the command's expiry before the certificate is revoked; a disable waits a
// few seconds for the ack before the session ends.
import type { AuditLog } from '../core/audit.js';
import type { DeviceStatus } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { CertificateAuthority } from './authority.js';

export type LifecycleAction = 'disable' | 'enable' | 'quarantine' | 'revoke' | 'wipe';

/** Ends live sessions. The broker implements it. */
export interface SessionKicker {
  kick(deviceId: string, cause: string): void;
}

/** Sends signed commands and resolves when the device acked or the command expired. */
export interface DeviceCommander {
  wipe(deviceId: string, reason: string, actor?: string): Promise<'acked' | 'expired' | 'not_connected'>;
  disable(deviceId: string, reason: string, actor?: string): Promise<string>;
}

const TARGET_STATUS: Record<LifecycleAction, DeviceStatus> = {
  disable: 'disabled',
  enable: 'active',
  quarantine: 'quarantined',
  revoke: 'revoked',
  wipe: 'wiped',
};

/** Which statuses each action may start from. Revoked and wiped are final. */
const ALLOWED_FROM: Record<LifecycleAction, readonly DeviceStatus[]> = {
  disable: ['active', 'quarantined', 'pending'],
  enable: ['disabled', 'quarantined'],
  quarantine: ['active', 'disabled', 'pending'],
  revoke: ['pending', 'active', 'disabled', 'quarantined'],
  wipe: ['active', 'disabled', 'quarantined'],
};

export class DeviceLifecycle {
  constructor(
    private readonly store: ControlPlane,
    private readonly authority: CertificateAuthority,
    private readonly ports: { kicker?: SessionKicker; commander?: DeviceCommander } = {},
  ) {}

  private get audit(): AuditLog {
    return this.store.audit;
  }

  async apply(deviceId: string, action: LifecycleAction, reason: unknown, actor: string, source?: string) {
    if (typeof reason !== 'string' || reason.trim().length < 3 || reason.length > 500) {
      throw new VitalGateError('REASON_REQUIRED', 'a reason of 3 to 500 characters is required');
    }
    const device = this.store.devices.require(deviceId);
    if (!ALLOWED_FROM[action].includes(device.status)) {
      throw new VitalGateError('DEVICE_STATE_CONFLICT', `cannot ${action} a device that is ${device.status}`);
    }
    // A device relayed by a gateway has no certificate of its own: its binding is its transport.
    if (
      action === 'enable' &&
      device.currentSerial === null &&
      !this.store.gatewayBindings.ofDevice(deviceId)
    ) {
      throw new VitalGateError('DEVICE_STATE_CONFLICT', 'the device has no certificate; enroll it instead');
    }
    let commandOutcome: Record<string, string> = {};
    if (action === 'wipe' && this.ports.commander) {
      // The wipe command is signed and delivered first; the certificate is revoked once the device
      // acked or the command expired.
      commandOutcome = { wipe: await this.ports.commander.wipe(deviceId, reason, actor) };
    } else if (action === 'disable' && this.ports.commander && device.status === 'active') {
      // The device hears it is disabled (and stops measuring) before its session ends.
      commandOutcome = { disableCommand: await this.ports.commander.disable(deviceId, reason, actor) };
    }
    this.store.devices.setStatus(deviceId, TARGET_STATUS[action], reason);
    this.ports.kicker?.kick(deviceId, action);
    let revoked: string[] = [];
    if (action === 'revoke' || action === 'wipe') {
      revoked = await this.authority.revokeDevice(
        deviceId,
        action === 'wipe' ? 'cessationOfOperation' : 'privilegeWithdrawn',
        actor,
      );
    }
    this.audit.append({
      actor,
      action: `device.${action}`,
      target: `device:${deviceId}`,
      outcome: 'success',
      source,
      details: { reason, from: device.status, revoked, ...commandOutcome },
    });
    return { deviceId, status: TARGET_STATUS[action], revokedSerials: revoked, ...commandOutcome };
  }
}
