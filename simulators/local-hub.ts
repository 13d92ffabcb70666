// Provisioning against the data dir of a hub on this machine, with the authority of whoever can
// read the data dir and the master key (the CLI's authority, audited as `cli:<os user>`). Devices
// and patients are registered in the control plane and tokens issued there, exactly as
// `vitalgate device add` and `vitalgate device token` do; the devices then enroll themselves over
// HTTPS. The same store answers what the hub did (security events, statuses, dead letters,
// alerts), and the operator's CA can back-date a certificate for the expired-certificate fault.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { HubConfig } from '../core/config.js';
import type { Keyring } from '../core/keyring.js';
import { PatientRegistry } from '../core/patient-registry.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { CertificateAuthority } from '../pki/authority.js';
import { EnrollmentTokenService } from '../pki/enrollment-tokens.js';
import { DeviceLifecycle } from '../pki/lifecycle.js';
import { issueCertificate } from '../pki/profiles.js';
import type { DeviceRegistration, FleetProvisioner } from './fleet-provisioning.js';
import { simulatedPatient } from './fleet-provisioning.js';
import type { HubAlert, HubReadback, HubSecurityEvent } from './hub-readback.js';

/** Registers a device the way the CLI and the API do (DeviceRegistry implements it). */
export interface DeviceRegistrar {
  register(
    request: { id: string; kind: string; model?: string; patientId?: string; allowedNetworks?: string[] },
    actor: string,
  ): unknown;
}

export interface LocalHubDeps {
  config: Pick<HubConfig, 'enrollmentTokenTtlHours'>;
  store: ControlPlane;
  keyring: Keyring;
  registrar: DeviceRegistrar;
  /** Loaded on first use (revocation and the expired-certificate fault need it). */
  authority: () => Promise<CertificateAuthority>;
  /** Audit actor, e.g. `cli:alice`. */
  actor: string;
}

/** Records of the local hub, straight from its control plane. */
export class StoreRecords implements Omit<HubReadback, 'metrics'> {
  readonly source = 'store';

  constructor(private readonly store: ControlPlane) {}

  securityEvents(deviceId: string, since: number): Promise<HubSecurityEvent[]> {
    return Promise.resolve(
      this.store.securityEvents
        .list({ deviceId, since, limit: 1000 })
        .map((e) => ({ kind: e.kind, deviceId: e.deviceId, at: e.at, details: e.details })),
    );
  }

  deviceStatus(deviceId: string): Promise<string | undefined> {
    return Promise.resolve(this.store.devices.get(deviceId)?.status);
  }

  deadLetters(deviceId: string, since: number): Promise<string[]> {
    return Promise.resolve(
      this.store.deadLetters
        .list({ deviceId, limit: 1000 })
        .filter((d) => d.receivedAt >= since)
        .map((d) => d.reason),
    );
  }

  alerts(since: number): Promise<HubAlert[]> {
    return Promise.resolve(
      this.store.alerts
        .list({ limit: 10_000 })
        .filter((a) => a.raisedAt >= since)
        .map((a) => ({ rule: a.rule, deviceId: a.deviceId, patientId: a.patientId, raisedAt: a.raisedAt })),
    );
  }
}

export class LocalHubProvisioner implements FleetProvisioner {
  readonly name = 'local';
  readonly canRegister = true;
  readonly records: StoreRecords;
  private readonly tokens: EnrollmentTokenService;
  private readonly patients: PatientRegistry;

  constructor(private readonly deps: LocalHubDeps) {
    this.records = new StoreRecords(deps.store);
    this.tokens = new EnrollmentTokenService(
      deps.store.enrollmentTokens,
      deps.store.devices,
      deps.store.audit,
    );
    this.patients = new PatientRegistry(deps.store.patients, deps.keyring, deps.store.audit);
  }

  createPatient(label: string): Promise<string | undefined> {
    return Promise.resolve(this.patients.add(simulatedPatient(label), this.deps.actor).id);
  }

  token(device: DeviceRegistration): Promise<string> {
    const { store, registrar, actor, config } = this.deps;
    if (!store.devices.get(device.deviceId)) {
      registrar.register(
        {
          id: device.deviceId,
          kind: device.kind,
          model: 'VitalGate Simulator',
          ...(device.patientId ? { patientId: device.patientId } : {}),
          ...(device.allowedNetworks?.length ? { allowedNetworks: device.allowedNetworks } : {}),
        },
        actor,
      );
    }
    const ttl = config.enrollmentTokenTtlHours * 3_600_000;
    return Promise.resolve(this.tokens.issue(device.deviceId, ttl, actor).token);
  }

  async revoke(deviceId: string, reason: string): Promise<void> {
    const authority = await this.deps.authority();
    // The running hub notices the new CRL and the status within a second and ends the session.
    await new DeviceLifecycle(this.deps.store, authority).apply(deviceId, 'revoke', reason, this.deps.actor);
  }

  /**
   * A certificate for the device's key, signed by the hub's issuing CA, valid for one day that
   * ended yesterday: what a device presents after its certificate lapsed. It is recorded nowhere
   * (the device's real certificate stays current).
   */
  async expiredCertificate(deviceId: string, keyPem: string): Promise<string> {
    const authority = await this.deps.authority();
    const material = this.deps.store.pkiMaterial.get('issuing');
    if (!material) throw new Error('the hub has no issuing CA');
    const issuerKey = createPrivateKey({
      key: this.deps.keyring.openSecret('pki:issuing', material.sealedKey),
      format: 'der',
      type: 'pkcs8',
    });
    const issued = await issueCertificate({
      profile: 'device',
      subject: deviceId,
      publicKey: createPublicKey(keyPem),
      issuerCert: authority.issuingCertificate,
      issuerKey,
      urls: authority.urls(),
      now: Date.now() - 2 * 86_400_000,
      validityDays: 1,
    });
    this.deps.store.audit.append({
      actor: this.deps.actor,
      action: 'simulate.expired_certificate',
      target: `device:${deviceId}`,
      outcome: 'success',
      details: { serial: issued.serial, purpose: 'fault injection' },
    });
    return issued.pem;
  }
}
