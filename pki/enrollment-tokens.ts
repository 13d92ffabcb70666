// One-time enrollment tokens (like step-ca's one-time JWK provisioner tokens, or AWS fleet
// provisioning by claim): 256 random bits, bound to one device id, shown once, stored only as
// a SHA-256 hash, expiring, and spent atomically.
import { createHash, randomBytes } from 'node:crypto';
import type { AuditLog } from '../core/audit.js';
import { VitalGateError } from '../core/errors.js';
import type { DeviceRepository } from '../core/store/devices.js';
import type { EnrollmentTokenRepository } from '../core/store/enrollment-tokens.js';

export interface IssuedEnrollmentToken {
  deviceId: string;
  token: string;
  expiresAt: number;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class EnrollmentTokenService {
  constructor(
    private readonly tokens: EnrollmentTokenRepository,
    private readonly devices: DeviceRepository,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Issues a token for a pending device. Older unspent tokens of the device are voided. */
  issue(deviceId: string, ttlMs: number, actor: string): IssuedEnrollmentToken {
    const device = this.devices.require(deviceId);
    if (device.status !== 'pending' && device.status !== 'active') {
      throw new VitalGateError('DEVICE_NOT_ENROLLABLE', `device ${deviceId} is ${device.status}`);
    }
    const token = `vgt_${randomBytes(32).toString('base64url')}`;
    const expiresAt = this.now() + ttlMs;
    this.tokens.voidUnspent(deviceId);
    this.tokens.add({ tokenHash: hashToken(token), deviceId, expiresAt, createdBy: actor });
    this.audit.append({
      actor,
      action: 'pki.enrollment_token.issue',
      target: `device:${deviceId}`,
      outcome: 'success',
      details: { expiresAt },
    });
    return { deviceId, token, expiresAt };
  }

  /**
   * Spends the token for `deviceId`. Refusals are coded but deliberately alike toward the
   * caller: unknown, foreign, expired and spent tokens all fail with ENROLLMENT_TOKEN_INVALID
   * (the audit entry keeps the precise cause).
   */
  spend(token: string, deviceId: string, source?: string): { tokenHash: string } {
    const tokenHash = hashToken(token);
    const record = this.tokens.get(tokenHash);
    let cause: string | undefined;
    if (!record) cause = 'unknown';
    else if (record.deviceId !== deviceId) cause = 'foreign_device';
    else if (record.spentAt !== null) cause = 'spent';
    else if (record.expiresAt <= this.now()) cause = 'expired';
    else if (!this.tokens.spend(tokenHash, deviceId)) cause = 'spent';
    if (cause) {
      this.audit.append({
        actor: `device:${deviceId}`,
        action: 'pki.enrollment_token.spend',
        target: `device:${deviceId}`,
        outcome: 'denied',
        source,
        details: { code: 'ENROLLMENT_TOKEN_INVALID', cause },
      });
      throw new VitalGateError(
        'ENROLLMENT_TOKEN_INVALID',
        'enrollment token is invalid, expired or already used',
      );
    }
    return { tokenHash };
  }

  /** Gives a just-spent token back when the enrollment failed for a reason of the hub's. */
  refund(tokenHash: string): void {
    this.tokens.unspend(tokenHash);
  }
}
