// FHIR R4 Observations from decrypted readings (SPEC §4 codes): LOINC codes and UCUM units,
// the category of each kind of reading, `effectiveDateTime`, the device and the patient.
// Blood pressure is one Observation with systolic and diastolic components; an ECG chunk is
// SampledData (MDC code, period in ms). Locations are not clinical observations and are left out.
// Vital signs claim the FHIR R4 vital-signs profile. Used by the FHIR facade (`/fhir/R4`) and the
// API's `/patients/{id}/observations` bundle alike; no HTTP here.
import { createHash } from 'node:crypto';
import { READING_DEFINITIONS, type ReadingType } from '../core/domain.js';
import { fhirDeviceId, fhirPatientId, observationId } from './ids.js';

/** One decrypted reading (the API's TelemetryPoint has this shape). */
export interface ReadingPoint {
  ts: number;
  deviceId: string;
  type: ReadingType;
  values: Record<string, unknown>;
}

/** How references are written: the hub's own ids (the API) or FHIR ids (the facade). */
export type ReferenceStyle = 'hub' | 'fhir';

const VITAL_SIGNS_PROFILE = 'http://hl7.org/fhir/StructureDefinition/vitalsigns';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';

const CATEGORY: Partial<Record<ReadingType, { code: string; display: string }>> = {
  heart_rate: { code: 'vital-signs', display: 'Vital Signs' },
  spo2: { code: 'vital-signs', display: 'Vital Signs' },
  respiratory_rate: { code: 'vital-signs', display: 'Vital Signs' },
  body_temperature: { code: 'vital-signs', display: 'Vital Signs' },
  blood_pressure: { code: 'vital-signs', display: 'Vital Signs' },
  body_weight: { code: 'vital-signs', display: 'Vital Signs' },
  blood_glucose: { code: 'laboratory', display: 'Laboratory' },
  steps: { code: 'activity', display: 'Activity' },
  ecg: { code: 'procedure', display: 'Procedure' },
};

export const FHIR_TYPES = Object.keys(CATEGORY) as ReadingType[];

/** The reading type a code names (LOINC, or MDC for ECG), with or without its system. */
export function readingTypesForCode(token: string): ReadingType[] {
  const bar = token.indexOf('|');
  const system = bar >= 0 ? token.slice(0, bar) : undefined;
  const code = bar >= 0 ? token.slice(bar + 1) : token;
  return FHIR_TYPES.filter((type) => {
    const d = READING_DEFINITIONS[type];
    const codings: { system: string; code: string }[] = [];
    if ('loinc' in d) codings.push({ system: LOINC, code: d.loinc });
    if ('mdc' in d) codings.push(d.mdc);
    return codings.some(
      (c) => c.code === code && (system === undefined || system === '' || system === c.system),
    );
  });
}

type Json = Record<string, unknown>;

function quantity(value: number, unit: string): Json {
  return { value, unit, system: UCUM, code: unit };
}

/** One Observation, or undefined for readings that are not observations (location). */
export function toObservation(
  patientId: string,
  p: ReadingPoint,
  style: ReferenceStyle = 'hub',
): Json | undefined {
  const category = CATEGORY[p.type];
  const definition = READING_DEFINITIONS[p.type];
  if (!category) return undefined;
  const fhir = style === 'fhir';
  const base: Json = {
    resourceType: 'Observation',
    id: observationId(patientId, p.deviceId, p.type, p.ts),
    ...(category.code === 'vital-signs' ? { meta: { profile: [VITAL_SIGNS_PROFILE] } } : {}),
    status: 'final',
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: category.code, display: category.display }] }],
    subject: { reference: `Patient/${fhir ? fhirPatientId(patientId) : patientId}` },
    effectiveDateTime: new Date(p.ts).toISOString(),
    device: { reference: `Device/${fhir ? fhirDeviceId(p.deviceId) : p.deviceId}` },
  };
  const v = p.values;
  switch (definition.shape) {
    case 'scalar':
      return {
        ...base,
        code: {
          coding: [{ system: LOINC, code: definition.loinc, display: definition.display }],
          text: definition.display,
        },
        valueQuantity: quantity(Number(v.value), definition.unit),
      };
    case 'blood_pressure':
      return {
        ...base,
        code: {
          coding: [{ system: LOINC, code: definition.loinc, display: definition.display }],
          text: 'Blood pressure',
        },
        component: [
          {
            code: {
              coding: [
                { system: LOINC, code: definition.systolic.loinc, display: 'Systolic blood pressure' },
              ],
            },
            valueQuantity: quantity(Number(v.systolic), definition.unit),
          },
          {
            code: {
              coding: [
                { system: LOINC, code: definition.diastolic.loinc, display: 'Diastolic blood pressure' },
              ],
            },
            valueQuantity: quantity(Number(v.diastolic), definition.unit),
          },
        ],
      };
    case 'ecg': {
      const samples = (v.samples as number[]) ?? [];
      const rate = Number(v.sampleRateHz);
      return {
        ...base,
        code: {
          coding: [{ system: definition.mdc.system, code: definition.mdc.code, display: definition.display }],
          text: 'ECG',
        },
        valueSampledData: {
          origin: quantity(0, definition.unit),
          period: Math.round((1000 / rate) * 1e6) / 1e6,
          dimensions: 1,
          data: samples.join(' '),
        },
      };
    }
    default:
      return undefined;
  }
}

/** One page of a search: where it starts among the matches, how many match, and the links. */
export interface SearchPage {
  /** The position of `points[0]` among all matches (`_offset`). */
  offset: number;
  /** Every match of the search, not only this page's. */
  total: number;
  selfUrl: string;
  /** The next page, when matches remain after this one. */
  nextUrl?: string | undefined;
}

/**
 * A `searchset` Bundle of the patient's Observations, oldest first: `total` counts every match
 * (FHIR R4 Bundle.total), the entries are this page, and a `next` link follows when more remain.
 */
export function observationBundle(
  patientId: string,
  points: readonly ReadingPoint[],
  page: SearchPage,
): Json {
  const entry: Json[] = [];
  points.forEach((p) => {
    const resource = toObservation(patientId, p);
    if (resource) {
      entry.push({
        fullUrl: `urn:uuid:${uuidFromId(resource.id as string)}`,
        resource,
        search: { mode: 'match' },
      });
    }
  });
  const link = [{ relation: 'self', url: page.selfUrl }];
  if (page.nextUrl) link.push({ relation: 'next', url: page.nextUrl });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: new Date().toISOString(),
    total: page.total,
    link,
    entry,
  };
}

function uuidFromId(id: string): string {
  const h = createHash('sha256').update(id).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
