// Devices, for the API's /devices and the `vitalgate device` commands alike: register, issue an
// enrollment token, bind to a patient and unbind. A new binding ends the device's live MQTT
// session (when the hub runs) so its next connection seals readings under the new patient's key.
import { NetworkPolicy } from '../../core/cidr.js';
import type { HubConfig } from '../../core/config.js';
import { DEVICE_ID_PATTERN, DEVICE_KINDS, isDeviceKind } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import type { Device } from '../../core/store/devices.js';
import type { EnrollmentTokenService } from '../../pki/enrollment-tokens.js';
import type { DeviceSessionKicker } from '../ports.js';

export interface DeviceView {
  id: string;
  kind: string;
  model: string | null;
  patientId: string | null;
  status: string;
  statusReason: string | null;
  currentSerial: string | null;
  firmware: string | null;
  allowedNetworks: string[];
  createdAt: string;
  updatedAt: string;
}

export function deviceView(d: Device): DeviceView {
  return {
    id: d.id,
    kind: d.kind,
    model: d.model,
    patientId: d.patientId,
    status: d.status,
    statusReason: d.statusReason,
    currentSerial: d.currentSerial,
    firmware: d.firmware,
    allowedNetworks: d.allowedNetworks,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}

export interface NewDeviceRequest {
  id: string;
  kind: string;
  model?: string | undefined;
  patientId?: string | undefined;
  allowedNetworks?: string[] | undefined;
}

export class DeviceRegistry {
  constructor(
    private readonly store: ControlPlane,
    private readonly tokens: EnrollmentTokenService,
    private readonly config: Pick<HubConfig, 'enrollmentTokenTtlHours'>,
    private readonly kicker: DeviceSessionKicker | undefined,
  ) {}

  register(request: NewDeviceRequest, actor: string, source?: string): Device {
    if (!DEVICE_ID_PATTERN.test(request.id)) {
      throw new VitalGateError('DEVICE_ID_INVALID', 'device id must be 1-64 letters, digits, . _ or -');
    }
    if (!isDeviceKind(request.kind)) {
      throw new VitalGateError('DEVICE_KIND_INVALID', `kind must be one of ${DEVICE_KINDS.join(', ')}`);
    }
    if (request.allowedNetworks) new NetworkPolicy(request.allowedNetworks);
    if (request.patientId) this.requireLivePatient(request.patientId);
    const device = this.store.devices.add({
      id: request.id,
      kind: request.kind,
      model: request.model ?? null,
      patientId: request.patientId ?? null,
      allowedNetworks: request.allowedNetworks ?? [],
    });
    this.store.audit.append({
      actor,
      action: 'device.register',
      target: `device:${device.id}`,
      outcome: 'success',
      source,
      details: { kind: device.kind, model: device.model, bound: device.patientId !== null },
    });
    return device;
  }

  issueToken(deviceId: string, ttlMs: number | undefined, actor: string) {
    return this.tokens.issue(deviceId, ttlMs ?? this.config.enrollmentTokenTtlHours * 3_600_000, actor);
  }

  bind(deviceId: string, patientId: string, actor: string, source?: string): Device {
    const device = this.store.devices.require(deviceId);
    this.requireLivePatient(patientId);
    this.store.devices.bindPatient(deviceId, patientId);
    this.store.audit.append({
      actor,
      action: 'device.bind',
      target: `device:${deviceId}`,
      outcome: 'success',
      source,
      details: { patient: patientId, previous: device.patientId },
    });
    if (device.patientId !== patientId) this.kicker?.kick(deviceId, 'rebound');
    return this.store.devices.require(deviceId);
  }

  unbind(deviceId: string, actor: string, source?: string): Device {
    const device = this.store.devices.require(deviceId);
    this.store.devices.bindPatient(deviceId, null);
    this.store.audit.append({
      actor,
      action: 'device.unbind',
      target: `device:${deviceId}`,
      outcome: 'success',
      source,
      details: { previous: device.patientId },
    });
    if (device.patientId !== null) this.kicker?.kick(deviceId, 'unbound');
    return this.store.devices.require(deviceId);
  }

  private requireLivePatient(patientId: string): void {
    const patient = this.store.patients.get(patientId);
    if (!patient || patient.erasedAt !== null)
      throw new VitalGateError('PATIENT_NOT_FOUND', 'no such patient');
  }
}
