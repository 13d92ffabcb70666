// Patient/{id}/$everything for one patient and a date range: the Patient, the Devices bound to
// them, what clinicians filed to their record (Communications and report DocumentReferences), and
// their Observations (each kind only when the caller may read it) in the range, oldest first. The
// Observations are paged: the first page also holds the rest, and `total` counts everything.
import { FHIR_TYPES } from './observations.js';
import type { FhirRepository, FhirResource } from './repository.js';
import type { Paging } from './search.js';

export interface EverythingPage {
  resources: FhirResource[];
  total: number;
  /** Whether Observations remain after this page. */
  more: boolean;
}

export async function patientEverything(
  repository: FhirRepository,
  patientId: string,
  demographics: boolean,
  range: { from: number; to: number } & Paging,
  include: { devices: boolean; observations: boolean; communications?: boolean; documents?: boolean },
): Promise<EverythingPage | undefined> {
  const patient = repository.readPatient(patientId, demographics);
  if (!patient) return undefined;
  const devices = include.devices ? repository.searchDevices(patientId).map((d) => d.resource) : [];
  const observations = include.observations
    ? await repository.searchObservations({
        patientId,
        types: [...FHIR_TYPES],
        from: range.from,
        to: range.to,
        descending: false,
        count: range.count,
        offset: range.offset,
      })
    : { resources: [], total: 0 };
  const communications = include.communications ? (repository.searchCommunications?.(patientId) ?? []) : [];
  const documents = include.documents ? (repository.searchDocumentReferences?.(patientId) ?? []) : [];
  const head = range.offset === 0 ? [patient, ...devices, ...communications, ...documents] : [];
  return {
    resources: [...head, ...observations.resources],
    total: 1 + devices.length + communications.length + documents.length + observations.total,
    more: 'next' in observations && observations.next !== undefined,
  };
}
