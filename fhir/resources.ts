// Patient and Device as FHIR R4 resources. A Patient's id is pseudonymous (the hub's random
// patient id); its demographics appear only when the caller may read PHI, and a pseudonymous
// Patient says so in `meta.security` (PSEUDED). A Device carries its kind, model, status and the
// patient it is bound to.
import type { DeviceStatus } from '../core/domain.js';
import type { Demographics } from '../core/patient-registry.js';
import type { Device } from '../core/store/devices.js';
import type { GatewayBinding } from '../core/store/gateway-bindings.js';
import { fhirDeviceId, fhirPatientId } from './ids.js';
import { phdDeviceParts } from './phd.js';

type Json = Record<string, unknown>;

export const IDENTIFIER_SYSTEMS = {
  patient: 'urn:vitalgate:patient',
  mrn: 'urn:vitalgate:mrn',
  device: 'urn:vitalgate:device',
  deviceKind: 'urn:vitalgate:device-kind',
} as const;

const PSEUDED = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'PSEUDED',
  display: 'pseudonymized',
};

export function toPatient(patientId: string, demographics?: Demographics): Json {
  const identifier: Json[] = [{ system: IDENTIFIER_SYSTEMS.patient, value: patientId }];
  if (!demographics) {
    return {
      resourceType: 'Patient',
      id: fhirPatientId(patientId),
      meta: { security: [PSEUDED] },
      identifier,
      active: true,
    };
  }
  if (demographics.mrn) identifier.push({ system: IDENTIFIER_SYSTEMS.mrn, value: demographics.mrn });
  return {
    resourceType: 'Patient',
    id: fhirPatientId(patientId),
    identifier,
    active: true,
    name: [{ text: demographics.name }],
    birthDate: demographics.birthDate,
  };
}

/** FHIR Device.status: only an active device is `active`; pending, disabled, quarantined, revoked and wiped ones are not. */
function deviceStatus(status: DeviceStatus): 'active' | 'inactive' {
  return status === 'active' ? 'active' : 'inactive';
}

/** `binding`: the gateway binding of a Bluetooth device, which makes it a PHD Device (fhir/phd.ts). */
export function toDevice(device: Device, binding?: GatewayBinding): Json {
  const phd = phdDeviceParts(device.kind, binding);
  return {
    resourceType: 'Device',
    id: fhirDeviceId(device.id),
    ...(phd.meta ? { meta: phd.meta } : {}),
    identifier: [
      { system: IDENTIFIER_SYSTEMS.device, value: device.id },
      ...((phd.identifier as Json[] | undefined) ?? []),
    ],
    ...(phd.serialNumber ? { serialNumber: phd.serialNumber } : {}),
    status: deviceStatus(device.status),
    ...(device.model
      ? { deviceName: [{ name: device.model, type: 'model-name' }], modelNumber: device.model }
      : {}),
    type: { coding: [{ system: IDENTIFIER_SYSTEMS.deviceKind, code: device.kind }], text: device.kind },
    ...(phd.specialization ? { specialization: phd.specialization } : {}),
    ...(device.firmware ? { version: [{ value: device.firmware }] } : {}),
    ...(device.patientId ? { patient: { reference: `Patient/${fhirPatientId(device.patientId)}` } } : {}),
  };
}
