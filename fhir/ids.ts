// FHIR ids of the hub's records. A FHIR id is 1 to 64 of [A-Za-z0-9-.]: a patient id
// (`pat_` + base64url, never a `.`) becomes its FHIR id by writing `_` as `.`, and back; a device
// id that is already a FHIR id stays as it is, any other is named by a hash (looked up among the
// devices); an Observation id names its patient, reading type, instant and device, so a read
// finds the one reading without an index.
import { createHash } from 'node:crypto';
import { READING_TYPES, type ReadingType } from '../core/domain.js';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function isFhirId(value: string): boolean {
  return FHIR_ID.test(value);
}

export function fhirPatientId(patientId: string): string {
  return patientId.replaceAll('_', '.');
}

/** The hub's patient id for a FHIR Patient id, or undefined when it cannot be one. */
export function patientIdFromFhir(id: string): string | undefined {
  const hub = id.replaceAll('.', '_');
  return /^pat_[A-Za-z0-9_-]{8,40}$/.test(hub) ? hub : undefined;
}

export function fhirDeviceId(deviceId: string): string {
  if (FHIR_ID.test(deviceId)) return deviceId;
  return `d-${shortHash(deviceId, 40)}`;
}

function shortHash(value: string, length: number): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}

export interface ObservationKey {
  patientId: string;
  type: ReadingType;
  ts: number;
  /** The first 8 hex digits of the device id's SHA-256. */
  deviceHash: string;
}

/** Device ids' 8-digit hashes, kept: a search names the same few devices in every Observation. */
const deviceHashes = new Map<string, string>();
const DEVICE_HASHES_KEPT = 10_000;

function deviceHash(deviceId: string): string {
  let hash = deviceHashes.get(deviceId);
  if (hash === undefined) {
    if (deviceHashes.size >= DEVICE_HASHES_KEPT) deviceHashes.clear();
    deviceHashes.set(deviceId, (hash = shortHash(deviceId, 8)));
  }
  return hash;
}

export function observationId(patientId: string, deviceId: string, type: ReadingType, ts: number): string {
  const t = READING_TYPES.indexOf(type);
  return `${fhirPatientId(patientId)}.${t}.${ts}.${deviceHash(deviceId)}`;
}

export function deviceHashMatches(deviceId: string, hash: string): boolean {
  return deviceHash(deviceId) === hash;
}

/** The reading an Observation id names, or undefined when the id is not one of ours. */
export function parseObservationId(id: string): ObservationKey | undefined {
  const m = /^(.+)\.(\d{1,2})\.(\d{1,15})\.([0-9a-f]{8})$/.exec(id);
  if (!m || !isFhirId(id)) return undefined;
  const patientId = patientIdFromFhir(m[1]!);
  const type = READING_TYPES[Number(m[2])];
  if (!patientId || !type) return undefined;
  return { patientId, type, ts: Number(m[3]), deviceHash: m[4]! };
}
