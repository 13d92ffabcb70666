// Fleet renewal without anyone acting: a device whose current certificate ends inside the renewal
// window (VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS) is sent one signed rotate-cert while it is
// connected and listening, and renews through /api/v1/enroll/renew. At most one per certificate:
// the command is recorded before it goes out, so neither a reconnect nor a restart sends another.
// Checked when a device starts listening for commands, and every ten minutes for the rest.
import { randomUUID } from 'node:crypto';
import { renewalWindowDays } from '../core/config.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { CertificateRotationRepository } from '../core/store/certificate-rotations.js';
import type { CommandPublisher } from '../broker/commands.js';
import type { HubConfig } from '../core/config.js';

const DAY_MS = 86_400_000;
export const RENEWAL_SWEEP_MS = 10 * 60_000;
export const ROTATE_CERT_ACTOR = 'system:renewal';

export interface RenewalDeps {
  config: Pick<HubConfig, 'deviceRenewalWindowDays' | 'deviceCertDays'>;
  store: ControlPlane;
  commands: Pick<CommandPublisher, 'send'>;
  logger: Logger;
  now?: () => number;
  /**
   * The current issuing CA's serial. After an issuing CA rotation a certificate of the previous
   * one is due at once, whatever its expiry (pki/issuer-rotation.ts).
   */
  issuingSerial?: () => string;
}

export class CertificateRenewalPrompts {
  private readonly rotations: CertificateRotationRepository;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: RenewalDeps) {
    this.rotations = new CertificateRotationRepository(deps.store.db);
    this.windowMs = renewalWindowDays(deps.config) * DAY_MS;
    this.now = deps.now ?? Date.now;
  }

  /** Whether the certificate ends inside the renewal window (at `now`). */
  inWindow(notAfter: number, now = this.now()): boolean {
    return this.windowMs > 0 && notAfter - now <= this.windowMs;
  }

  /** Sends rotate-cert to a listening device if its certificate is due and was never sent one. */
  async prompt(session: { deviceId: string; serial: string }): Promise<string | undefined> {
    const { store, commands } = this.deps;
    const device = store.devices.get(session.deviceId);
    if (device?.status !== 'active' || device.currentSerial !== session.serial) return undefined;
    const certificate = store.certificates.get(session.serial);
    if (certificate?.status !== 'active') return undefined;
    const current = this.deps.issuingSerial?.();
    const previousIssuer =
      current !== undefined && certificate.issuerSerial !== null && certificate.issuerSerial !== current;
    if (!previousIssuer && !this.inWindow(certificate.notAfter)) return undefined;
    const id = randomUUID();
    if (!this.rotations.record(session.serial, session.deviceId, id)) return undefined;
    const notAfter = new Date(certificate.notAfter).toISOString();
    const { outcome } = await commands.send(
      session.deviceId,
      'rotate-cert',
      { reason: previousIssuer ? 'issuer_rotation' : 'renewal_window', notAfter },
      ROTATE_CERT_ACTOR,
      { id },
    );
    // Not sent after all (the device left meanwhile): its next session gets it.
    if (outcome === 'not_connected') this.rotations.release(session.serial);
    else this.rotations.settle(session.serial, outcome);
    return outcome;
  }

  /** Calls prompt for each session, logging (never throwing) a failure. */
  sweep(sessions: readonly { deviceId: string; serial: string }[]): void {
    for (const session of sessions) {
      this.prompt(session).catch((err: unknown) =>
        this.deps.logger.error({ err: describeError(err), device: session.deviceId }, 'rotate-cert failed'),
      );
    }
  }
}
