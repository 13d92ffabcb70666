// Helpers shared by the broker's integration tests (not a test file itself).
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { DeviceIdentity } from '../../../broker/identity.js';
import type { IntakeOutcome, TelemetryIntake } from '../../../broker/intake.js';
import { issueCertificate } from '../../../pki/profiles.js';
import type { DeviceCredentials, TestPki } from '../../support/hub-pki.js';

/** Polls until `check` stops throwing (audit entries of a refused handshake land just after). */
export async function eventually<T>(check: () => T, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Codes of the refusals recorded for a device (identity gate) or for anonymous peers (TLS). */
export function refusalCodes(pki: TestPki, deviceId?: string): unknown[] {
  return pki.store.audit
    .list({
      action: 'broker.connect',
      outcome: 'denied',
      ...(deviceId ? { target: `device:${deviceId}` } : { actor: 'device:unknown' }),
    })
    .map((e) => e.details?.code);
}

/** A certificate for an enrolled device's key, signed by the hub's issuing CA with other dates. */
export async function reissueWithValidity(
  pki: TestPki,
  creds: DeviceCredentials,
  notBefore: number,
  validityDays: number,
): Promise<DeviceCredentials> {
  const material = pki.store.pkiMaterial.get('issuing')!;
  const issuerKey = createPrivateKey({
    key: pki.keyring.openSecret('pki:issuing', material.sealedKey),
    format: 'der',
    type: 'pkcs8',
  });
  const issued = await issueCertificate({
    profile: 'device',
    subject: creds.deviceId,
    publicKey: createPublicKey(creds.keyPem),
    issuerCert: pki.authority.issuingCertificate,
    issuerKey,
    urls: pki.authority.urls(),
    now: notBefore,
    validityDays,
  });
  return { ...creds, certPem: issued.pem, serial: issued.serial };
}

/** An intake that records what reached it, and can be made slow or failing. */
export class ScriptedIntake implements TelemetryIntake {
  readonly telemetry: { deviceId: string; payload: string }[] = [];
  readonly status: { deviceId: string; payload: string }[] = [];
  /** Calls that have started (a slow one is counted before its delay). */
  entered = 0;
  delayMs = 0;
  failWith: Error | undefined;

  async accept(device: Pick<DeviceIdentity, 'deviceId'>, payload: Buffer): Promise<IntakeOutcome> {
    this.entered += 1;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    this.telemetry.push({ deviceId: device.deviceId, payload: payload.toString() });
    return { outcome: 'accepted' };
  }

  acceptStatus(device: Pick<DeviceIdentity, 'deviceId'>, payload: Buffer): void {
    this.status.push({ deviceId: device.deviceId, payload: payload.toString() });
  }
}
