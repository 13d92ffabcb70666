// The facade's CRUD-style reads behind one interface (operations such as $everything are built
// on it, apart). The repository answers what exists; who may see it is decided by the caller,
// which is why every answer names the hub patient it belongs to. No HTTP here.
import type { ReadingType } from '../core/domain.js';
import type { Demographics } from '../core/patient-registry.js';
import type { Device } from '../core/store/devices.js';
import { deviceHashMatches, fhirDeviceId, parseObservationId } from './ids.js';
import { FHIR_TYPES, toObservation, type ReadingPoint } from './observations.js';
import { toDevice, toPatient } from './resources.js';
import { MAX_COUNT, MAX_OFFSET, type ObservationSearch } from './search.js';

export type FhirResource = Record<string, unknown>;

/** A resource and the hub patient it belongs to (null: bound to none). */
export interface Owned {
  resource: FhirResource;
  patientId: string | null;
}

export interface FhirRepository {
  /** Patients that exist and are not erased, in a stable order. */
  patientIds(): string[];
  /** The Patient, with demographics when asked for; undefined when unknown or erased. */
  readPatient(patientId: string, demographics: boolean): FhirResource | undefined;
  readDevice(fhirId: string): Owned | undefined;
  /** Devices, all or those bound to one patient. */
  searchDevices(patientId?: string): Owned[];
  readObservation(fhirId: string): Promise<Owned | undefined>;
  searchObservations(search: ObservationSearch): Promise<{ resources: FhirResource[]; total: number }>;
}

/** Decrypted readings of one patient, oldest first (the API's TelemetryService). */
export interface ReadingSource {
  raw(
    patientId: string,
    from: number,
    to: number,
    types: readonly ReadingType[] | undefined,
    limit: number,
  ): Promise<ReadingPoint[]>;
  count(patientId: string, from: number, to: number, types: readonly ReadingType[]): Promise<number>;
}

export interface StoreFhirRepositoryDeps {
  patients: {
    list(): { id: string; erasedAt: number | null }[];
    get(id: string): { erasedAt: number | null } | undefined;
  };
  demographics: { get(id: string): Demographics };
  devices: { list(filter?: { patientId?: string }): Device[] };
  readings: ReadingSource;
}

export class StoreFhirRepository implements FhirRepository {
  constructor(private readonly deps: StoreFhirRepositoryDeps) {}

  patientIds(): string[] {
    return this.deps.patients
      .list()
      .filter((p) => p.erasedAt === null)
      .map((p) => p.id);
  }

  private exists(patientId: string): boolean {
    const record = this.deps.patients.get(patientId);
    return record !== undefined && record.erasedAt === null;
  }

  readPatient(patientId: string, demographics: boolean): FhirResource | undefined {
    if (!this.exists(patientId)) return undefined;
    return toPatient(patientId, demographics ? this.deps.demographics.get(patientId) : undefined);
  }

  readDevice(fhirId: string): Owned | undefined {
    const device = this.deps.devices.list().find((d) => fhirDeviceId(d.id) === fhirId);
    return device ? { resource: toDevice(device), patientId: device.patientId } : undefined;
  }

  searchDevices(patientId?: string): Owned[] {
    const devices = this.deps.devices.list(patientId ? { patientId } : {});
    return devices.map((d) => ({ resource: toDevice(d), patientId: d.patientId }));
  }

  async readObservation(fhirId: string): Promise<Owned | undefined> {
    const key = parseObservationId(fhirId);
    if (!key || !FHIR_TYPES.includes(key.type) || !this.exists(key.patientId)) return undefined;
    const points = await this.deps.readings.raw(key.patientId, key.ts, key.ts, [key.type], 1000);
    const point = points.find((p) => p.ts === key.ts && deviceHashMatches(p.deviceId, key.deviceHash));
    if (!point) return undefined;
    return { resource: toObservation(key.patientId, point, 'fhir')!, patientId: key.patientId };
  }

  async searchObservations(s: ObservationSearch): Promise<{ resources: FhirResource[]; total: number }> {
    if (s.types.length === 0 || !this.exists(s.patientId)) return { resources: [], total: 0 };
    let page: ReadingPoint[];
    let total: number;
    if (s.descending) {
      // Readings come oldest first: the newest ones are the tail of the whole range.
      const all = await this.deps.readings.raw(s.patientId, s.from, s.to, s.types, MAX_OFFSET + MAX_COUNT);
      total = all.length;
      page = all.reverse().slice(s.offset, s.offset + s.count);
    } else {
      const points = await this.deps.readings.raw(s.patientId, s.from, s.to, s.types, s.offset + s.count);
      page = points.slice(s.offset);
      // A first page that is not full holds every match; otherwise the statistics count them.
      total =
        s.offset === 0 && points.length < s.count
          ? points.length
          : await this.deps.readings.count(s.patientId, s.from, s.to, s.types);
    }
    const resources = page.map((p) => toObservation(s.patientId, p, 'fhir')!);
    return { resources, total };
  }
}
