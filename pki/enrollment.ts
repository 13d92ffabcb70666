// Device enrollment and renewal: *who may ask*. A pending device proves itself with its one-time
// token; an active device renews with its current certificate (mutual TLS). What gets signed is
// the CertificateAuthority's decision.
import { VitalGateError } from '../core/errors.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { CertificateAuthority, IssuedDeviceCertificate } from './authority.js';
import { acceptDeviceCsr } from './csr.js';
import { hashToken, type EnrollmentTokenService } from './enrollment-tokens.js';
import { normalizeSerial } from './profiles.js';

export interface EnrollmentResult extends IssuedDeviceCertificate {
  deviceId: string;
}

export class DeviceEnrollment {
  constructor(
    private readonly store: ControlPlane,
    private readonly authority: CertificateAuthority,
    private readonly tokens: EnrollmentTokenService,
    private readonly config: { renewalGraceSeconds: number },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Enrolls the device the token was issued for (or `deviceId`, when the caller names it, as EST
   * Basic auth does). The CSR is checked before the token is spent, so a device with a bad CSR
   * can retry; the token is spent atomically before signing, so two concurrent uses cannot both
   * get a certificate.
   */
  async enroll(
    token: unknown,
    csrPem: unknown,
    options: { source?: string | undefined; deviceId?: string | undefined } = {},
  ): Promise<EnrollmentResult> {
    if (typeof token !== 'string' || token.length < 16 || token.length > 256) {
      throw new VitalGateError(
        'ENROLLMENT_TOKEN_INVALID',
        'enrollment token is invalid, expired or already used',
      );
    }
    const record = this.store.enrollmentTokens.get(hashToken(token));
    const deviceId = options.deviceId ?? record?.deviceId;
    const device = deviceId ? this.store.devices.get(deviceId) : undefined;
    if (!deviceId || !device || !record || record.deviceId !== deviceId) {
      this.tokens.spend(token, deviceId ?? 'unknown', options.source); // audits the cause, then throws
      throw new VitalGateError(
        'ENROLLMENT_TOKEN_INVALID',
        'enrollment token is invalid, expired or already used',
      );
    }
    if (device.status !== 'pending' && device.status !== 'active') {
      this.refuse(deviceId, 'DEVICE_NOT_ENROLLABLE', options.source);
      throw new VitalGateError('DEVICE_NOT_ENROLLABLE', `device ${deviceId} is ${device.status}`);
    }
    const csr = await this.acceptCsr(csrPem, deviceId, options.source);
    const { tokenHash } = this.tokens.spend(token, deviceId, options.source);
    let issued: IssuedDeviceCertificate;
    try {
      issued = await this.authority.issueDeviceCertificate(deviceId, csr);
    } catch (err) {
      this.tokens.refund(tokenHash);
      throw err;
    }
    const previous = device.currentSerial;
    this.store.transaction(() => {
      if (previous) this.store.certificates.supersede(previous, this.now());
      this.store.devices.setCurrentSerial(deviceId, issued.serial);
      this.store.devices.setStatus(deviceId, 'active', null);
    });
    this.store.audit.append({
      actor: `device:${deviceId}`,
      action: 'pki.enroll',
      target: `device:${deviceId}`,
      outcome: 'success',
      source: options.source,
      details: { serial: issued.serial, notAfter: issued.notAfter },
    });
    return { deviceId, ...issued };
  }

  /**
   * Renews the certificate of an active device that authenticated with `presentedSerial`. The
   * old certificate keeps working for the renewal grace period, then it is retired.
   */
  async renew(
    deviceId: string,
    presentedSerial: string,
    csrPem: unknown,
    source?: string,
  ): Promise<EnrollmentResult> {
    const device = this.store.devices.get(deviceId);
    const serial = normalizeSerial(presentedSerial);
    if (!device || device.status !== 'active') {
      this.refuse(deviceId, 'DEVICE_NOT_ACTIVE', source, 'pki.renew');
      throw new VitalGateError('DEVICE_NOT_ACTIVE', 'only active devices can renew');
    }
    const presented = this.store.certificates.get(serial);
    const usable =
      presented?.deviceId === deviceId &&
      (presented.status === 'active' ||
        (presented.status === 'superseded' && (presented.graceUntil ?? 0) > this.now()));
    if (!usable) {
      this.refuse(deviceId, 'CERTIFICATE_NOT_CURRENT', source, 'pki.renew');
      throw new VitalGateError('CERTIFICATE_NOT_CURRENT', 'renew with the current certificate of the device');
    }
    const csr = await this.acceptCsr(csrPem, deviceId, source, 'pki.renew');
    const issued = await this.authority.issueDeviceCertificate(deviceId, csr);
    const graceUntil = this.now() + this.config.renewalGraceSeconds * 1000;
    this.store.transaction(() => {
      if (device.currentSerial) this.store.certificates.supersede(device.currentSerial, graceUntil);
      this.store.devices.setCurrentSerial(deviceId, issued.serial);
      // Same enrollment, same replay window: the device's seq goes on (docs/INGEST.md).
      this.store.certificates.setEnrollment(issued.serial, presented!.enrollmentSerial ?? presented!.serial);
    });
    this.store.audit.append({
      actor: `device:${deviceId}`,
      action: 'pki.renew',
      target: `device:${deviceId}`,
      outcome: 'success',
      source,
      details: { serial: issued.serial, previous: device.currentSerial, graceUntil },
    });
    return { deviceId, ...issued };
  }

  private async acceptCsr(
    csrPem: unknown,
    deviceId: string,
    source: string | undefined,
    action = 'pki.enroll',
  ) {
    try {
      return await acceptDeviceCsr(csrPem, deviceId);
    } catch (err) {
      this.refuse(deviceId, (err as { code?: string }).code ?? 'CSR_MALFORMED', source, action);
      throw err;
    }
  }

  private refuse(deviceId: string, code: string, source: string | undefined, action = 'pki.enroll'): void {
    this.store.audit.append({
      actor: `device:${deviceId}`,
      action,
      target: `device:${deviceId}`,
      outcome: 'denied',
      source,
      details: { code },
    });
  }
}
