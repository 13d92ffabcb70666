// The facade's CRUD-style reads behind one interface (operations such as $everything are built
// on it, apart). The repository answers what exists; who may see it is decided by the caller,
// which is why every answer names the hub patient it belongs to. No HTTP here.
import type { ReadingType } from '../core/domain.js';
import type { Demographics } from '../core/patient-registry.js';
import type { Device } from '../core/store/devices.js';
import type { GatewayBinding } from '../core/store/gateway-bindings.js';
import { deviceHashMatches, fhirDeviceId, parseObservationId } from './ids.js';
import { FHIR_TYPES, toObservation, type ReadingPoint } from './observations.js';
import { toCommunication, type FiledExcerpt } from './communication.js';
import { toDevice, toPatient } from './resources.js';
import { MAX_COUNT, MAX_OFFSET, type ObservationSearch } from './search.js';

export type FhirResource = Record<string, unknown>;

const FIRST_WINDOW_MS = 3_600_000;

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
  searchObservations(search: ObservationSearch): Promise<ObservationPage>;
  /** The same search's readings, for callers that write the Observations as JSON themselves. */
  searchReadings(search: ObservationSearch): Promise<ReadingPage>;
  /** Communications filed to the patient's record from care-team conversations, oldest first. */
  searchCommunications?(patientId: string): FhirResource[];
  /** Reports filed to the patient's record (DocumentReferences, rpm/report-filing.ts). */
  searchDocumentReferences?(patientId: string): FhirResource[];
  /** One filed Communication by its id (none once its patient is erased). */
  readCommunication?(fhirId: string): Owned | undefined;
}

/** A page of an Observation search as readings (each maps to one Observation). */
export interface ReadingPage {
  points: ReadingPoint[];
  /** Every match of the search's whole range. */
  total: number;
  /** Where the next oldest-first page starts, when more remain (keyset paging). */
  next?: { ts: number; skip: number; total: number } | undefined;
}

export interface ObservationPage {
  resources: FhirResource[];
  /** Every match of the search's whole range. */
  total: number;
  /** Where the next oldest-first page starts, when more remain (keyset paging). */
  next?: { ts: number; skip: number; total: number } | undefined;
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
  devices: { list(filter?: { patientId?: string }): Device[]; get?(id: string): Device | undefined };
  /** Gateway bindings: bound devices become PHD Devices, and a patient's gateways come with them. */
  bindings?: { ofDevice(deviceId: string): GatewayBinding | undefined };
  readings: ReadingSource;
  /** What clinicians filed to each record (messaging/filing.ts); none without it. */
  filed?: { ofPatient(patientId: string): FiledExcerpt[]; get?(id: string): FiledExcerpt | undefined };
  /** Clinical reports filed to each record, as DocumentReferences (rpm/report-filing.ts). */
  documents?: { documentReferences(patientId: string): FhirResource[] };
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

  searchCommunications(patientId: string): FhirResource[] {
    if (!this.exists(patientId) || !this.deps.filed) return [];
    return this.deps.filed.ofPatient(patientId).map(toCommunication);
  }

  searchDocumentReferences(patientId: string): FhirResource[] {
    if (!this.exists(patientId) || !this.deps.documents) return [];
    return this.deps.documents.documentReferences(patientId);
  }

  readCommunication(fhirId: string): Owned | undefined {
    const filed = this.deps.filed?.get?.(fhirId);
    if (!filed || !this.exists(filed.patientId)) return undefined;
    return { resource: toCommunication(filed), patientId: filed.patientId };
  }

  readDevice(fhirId: string): Owned | undefined {
    const device = this.deps.devices.list().find((d) => fhirDeviceId(d.id) === fhirId);
    return device
      ? { resource: toDevice(device, this.deps.bindings?.ofDevice(device.id)), patientId: device.patientId }
      : undefined;
  }

  /** A patient's devices, and the gateways that relay them (their Observations reference those). */
  searchDevices(patientId?: string): Owned[] {
    const devices = this.deps.devices.list(patientId ? { patientId } : {});
    const owned = devices.map((d) => ({
      resource: toDevice(d, this.deps.bindings?.ofDevice(d.id)),
      patientId: d.patientId,
    }));
    if (!patientId || !this.deps.bindings || !this.deps.devices.get) return owned;
    const listed = new Set(devices.map((d) => d.id));
    for (const d of devices) {
      const gatewayId = this.deps.bindings.ofDevice(d.id)?.gatewayId;
      const gateway = gatewayId && !listed.has(gatewayId) ? this.deps.devices.get(gatewayId) : undefined;
      if (!gateway) continue;
      listed.add(gateway.id);
      owned.push({ resource: toDevice(gateway), patientId: gateway.patientId });
    }
    return owned;
  }

  async readObservation(fhirId: string): Promise<Owned | undefined> {
    const key = parseObservationId(fhirId);
    if (!key || !FHIR_TYPES.includes(key.type) || !this.exists(key.patientId)) return undefined;
    const points = await this.deps.readings.raw(key.patientId, key.ts, key.ts, [key.type], 1000);
    const point = points.find((p) => p.ts === key.ts && deviceHashMatches(p.deviceId, key.deviceHash));
    if (!point) return undefined;
    return { resource: toObservation(key.patientId, point, 'fhir')!, patientId: key.patientId };
  }

  async searchObservations(s: ObservationSearch): Promise<ObservationPage> {
    const { points, total, next } = await this.searchReadings(s);
    const resources = points.map((p) => toObservation(s.patientId, p, 'fhir')!);
    return { resources, total, next };
  }

  async searchReadings(s: ObservationSearch): Promise<ReadingPage> {
    if (s.types.length === 0 || !this.exists(s.patientId)) return { points: [], total: 0 };
    let page: ReadingPoint[];
    let total: number;
    let next: ObservationPage['next'];
    if (s.descending) {
      // Readings come oldest first: the newest ones are the tail of the whole range.
      const all = await this.deps.readings.raw(s.patientId, s.from, s.to, s.types, MAX_OFFSET + MAX_COUNT);
      total = all.length;
      page = all.reverse().slice(s.offset, s.offset + s.count);
    } else {
      // Keyset paging: a page starts at the previous page's last instant (after the readings
      // there it already served), so no page reads what earlier pages read.
      const start = s.cursor ? Math.max(s.from, s.cursor.ts) : s.from;
      const skip = s.cursor ? s.cursor.skip : s.offset;
      const points = await this.readForward(s, start, skip + s.count + 1);
      page = points.slice(skip, skip + s.count);
      const last = page.at(-1);
      const more = points.length > skip + s.count && last !== undefined;
      // A first page that holds every match counts them; a later page keeps the first page's
      // count; otherwise the statistics count them.
      total = s.cursor
        ? s.cursor.total
        : s.offset === 0 && !more
          ? page.length
          : await this.deps.readings.count(s.patientId, s.from, s.to, s.types);
      if (more) {
        const read = points.slice(0, skip + s.count);
        next = { ts: last.ts, skip: read.filter((p) => p.ts === last.ts).length, total };
      }
    }
    return { points: page, total, next };
  }

  /**
   * The oldest `want` readings from `start` on, read in consecutive windows of one hour, then
   * doubling: a page of dense readings reads about its own minutes, not the rest of the range.
   */
  private async readForward(s: ObservationSearch, start: number, want: number): Promise<ReadingPoint[]> {
    const points: ReadingPoint[] = [];
    let from = start;
    for (let span = FIRST_WINDOW_MS; from <= s.to && points.length < want; span *= 2) {
      const to = Math.min(s.to, from + span - 1);
      points.push(...(await this.deps.readings.raw(s.patientId, from, to, s.types, want - points.length)));
      from = to + 1;
    }
    return points;
  }
}
