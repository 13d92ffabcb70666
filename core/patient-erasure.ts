// Erasing a patient (the right to erasure, crypto-shredding): the patient's data key is destroyed,
// which makes every reading, minute rollup, dead letter, alert setting and the demographics sealed
// under it unreadable for good; the patient is marked erased; the patient's devices are unbound and
// their live sessions ended, so nothing more is sealed under the old binding. One transaction for
// the store changes, one audit entry per change. The caller repeats the patient id as confirmation.
import type { AuditLog } from './audit.js';
import { VitalGateError } from './errors.js';
import type { Keyring } from './keyring.js';
import { PatientRegistry } from './patient-registry.js';
import type { ControlPlane } from './store/control-plane.js';

/** Ends a device's live session (the broker, in the running hub). */
export interface ErasureSessionKicker {
  kick(deviceId: string, cause: string): unknown;
}

export interface ErasureRequest {
  patientId: string;
  /** Must equal patientId: the operator typed which patient goes. */
  confirm: unknown;
  reason: unknown;
}

export interface ErasureResult {
  patientId: string;
  erasedAt: string;
  unboundDevices: string[];
}

export class PatientErasure {
  private readonly registry: PatientRegistry;

  constructor(
    private readonly store: ControlPlane,
    keyring: Keyring,
    private readonly kicker?: ErasureSessionKicker,
  ) {
    this.registry = new PatientRegistry(store.patients, keyring, store.audit);
  }

  private get audit(): AuditLog {
    return this.store.audit;
  }

  erase(request: ErasureRequest, actor: string, source?: string): ErasureResult {
    const { patientId, confirm, reason } = request;
    if (typeof reason !== 'string' || reason.trim().length < 3 || reason.length > 500)
      throw new VitalGateError('REASON_REQUIRED', 'a reason of 3 to 500 characters is required');
    if (confirm !== patientId)
      throw new VitalGateError(
        'CONFIRMATION_MISMATCH',
        'the confirmation must repeat the id of the patient to erase',
      );
    const patient = this.store.patients.require(patientId);
    if (patient.erasedAt !== null) throw new VitalGateError('PATIENT_ERASED', 'this patient was erased');
    const devices = this.store.devices.list({ patientId }).map((d) => d.id);
    this.store.transaction(() => {
      // The key goes first: a message still arriving on an old session fails to seal and keeps
      // nothing; only then are the devices unbound.
      this.registry.erase(patientId, actor, reason);
      for (const deviceId of devices) {
        this.store.devices.bindPatient(deviceId, null);
        this.audit.append({
          actor,
          action: 'device.unbind',
          target: `device:${deviceId}`,
          outcome: 'success',
          source,
          details: { previous: patientId, cause: 'patient.erase' },
        });
      }
    });
    for (const deviceId of devices) this.kicker?.kick(deviceId, 'patient_erased');
    const erasedAt = this.store.patients.require(patientId).erasedAt ?? Date.now();
    return { patientId, erasedAt: new Date(erasedAt).toISOString(), unboundDevices: devices };
  }
}
