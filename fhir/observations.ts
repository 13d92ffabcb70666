// FHIR R4 Observations from decrypted readings (SPEC §4 codes): LOINC codes and UCUM units,
// the category of each kind of reading, `effectiveDateTime`, the device and the patient.
// Blood pressure is one Observation with systolic and diastolic components; an ECG chunk is
// SampledData (MDC code, period in ms). Locations are not clinical observations and are left out.
// Vital signs claim the FHIR R4 vital-signs profile. Used by the FHIR facade (`/fhir/R4`) and the
// API's `/patients/{id}/observations` bundle alike; no HTTP here.
import { createHash } from 'node:crypto';
import { READING_DEFINITIONS, READING_TYPES, type ReadingType } from '../core/domain.js';
import { fhirDeviceId, fhirPatientId, observationId } from './ids.js';
import { asPhdObservation, relayedSource } from './phd.js';

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

/**
 * What every Observation of a reading type shares, built once per type (an Observation search
 * maps tens of thousands of readings per page; these parts are the same in each). Frozen, since
 * every Observation of the type holds the same objects.
 */
interface TypeParts {
  meta?: Json;
  category: Json[];
  code: Json;
}

const frozen = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(frozen);
    Object.freeze(value);
  }
  return value;
};

const TYPE_PARTS = new Map<ReadingType, TypeParts>();
for (const type of FHIR_TYPES) {
  const category = CATEGORY[type]!;
  const d = READING_DEFINITIONS[type];
  const coding =
    d.shape === 'ecg'
      ? { system: d.mdc.system, code: d.mdc.code, display: d.display }
      : { system: LOINC, code: (d as { loinc: string }).loinc, display: d.display };
  const text = d.shape === 'blood_pressure' ? 'Blood pressure' : d.shape === 'ecg' ? 'ECG' : d.display;
  TYPE_PARTS.set(
    type,
    frozen({
      ...(category.code === 'vital-signs' ? { meta: { profile: [VITAL_SIGNS_PROFILE] } } : {}),
      category: [{ coding: [{ system: CATEGORY_SYSTEM, code: category.code, display: category.display }] }],
      code: { coding: [coding], text },
    }),
  );
}

/** One Observation, or undefined for readings that are not observations (location). */
export function toObservation(
  patientId: string,
  p: ReadingPoint,
  style: ReferenceStyle = 'hub',
): Json | undefined {
  const parts = TYPE_PARTS.get(p.type);
  if (!parts) return undefined;
  const definition = READING_DEFINITIONS[p.type];
  const fhir = style === 'fhir';
  const v = p.values;
  // A reading relayed by a gateway is a PHD Observation (fhir/phd.ts).
  const relayed = relayedSource(v);
  // Written out in the order the JSON shows, without spreading a shared base per reading.
  const o: Json = { resourceType: 'Observation', id: observationId(patientId, p.deviceId, p.type, p.ts) };
  if (parts.meta) o.meta = parts.meta;
  o.status = 'final';
  o.category = parts.category;
  o.subject = { reference: `Patient/${fhir ? fhirPatientId(patientId) : patientId}` };
  o.effectiveDateTime = new Date(p.ts).toISOString();
  o.device = { reference: `Device/${fhir ? fhirDeviceId(p.deviceId) : p.deviceId}` };
  o.code = parts.code;
  switch (definition.shape) {
    case 'scalar':
      o.valueQuantity = quantity(Number(v.value), definition.unit);
      return relayed ? asPhdObservation(o, relayed, fhir) : o;
    case 'blood_pressure':
      o.component = [
        {
          code: {
            coding: [{ system: LOINC, code: definition.systolic.loinc, display: 'Systolic blood pressure' }],
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
      ];
      return relayed ? asPhdObservation(o, relayed, fhir) : o;
    case 'ecg': {
      const samples = (v.samples as number[]) ?? [];
      const rate = Number(v.sampleRateHz);
      o.valueSampledData = {
        origin: quantity(0, definition.unit),
        period: Math.round((1000 / rate) * 1e6) / 1e6,
        dimensions: 1,
        data: samples.join(' '),
      };
      return o;
    }
    default:
      return undefined;
  }
}

/** What JSON.stringify writes for a type's shared parts, after the id and around the references. */
const TYPE_JSON = new Map<ReadingType, { head: string; code: string; unit: string }>();
const TYPE_INDEX = new Map<ReadingType, number>(READING_TYPES.map((t, i) => [t, i]));
for (const [type, parts] of TYPE_PARTS) {
  TYPE_JSON.set(type, {
    unit: JSON.stringify((READING_DEFINITIONS[type] as { unit?: string }).unit ?? ''),
    head: `${parts.meta ? `,"meta":${JSON.stringify(parts.meta)}` : ''},"status":"final","category":${JSON.stringify(parts.category)}`,
    code: `,"code":${JSON.stringify(parts.code)}`,
  });
}
const str = (s: string) => JSON.stringify(s);

/**
 * Writes search entries for one patient's readings as JSON text: exactly what JSON.stringify
 * writes for `{fullUrl, resource: toObservation(…, 'fhir'), search: {mode: 'match'}}`, without
 * building the objects first (a day of 1 Hz readings is 86,400 of them). What every entry of the
 * page shares (the patient, each device, the base URL) is written once. The writer gives
 * undefined for readings that are not Observations.
 */
export function observationEntryWriter(
  baseUrl: string,
  patientId: string,
): (p: ReadingPoint) => string | undefined {
  const patient = fhirPatientId(patientId); // [A-Za-z0-9.-]: nothing to escape, as in every id
  const subject = `,"subject":{"reference":"Patient/${patient}"}`;
  const fullUrl = `{"fullUrl":${str(`${baseUrl}/Observation/`).slice(0, -1)}`;
  const devices = new Map<string, { hash: string; ref: string }>();
  return (p) => {
    const parts = TYPE_JSON.get(p.type);
    if (!parts) return undefined;
    const definition = READING_DEFINITIONS[p.type];
    if (definition.shape !== 'scalar' || relayedSource(p.values)) {
      const resource = toObservation(patientId, p, 'fhir')!;
      return `${fullUrl}${String(resource.id)}","resource":${JSON.stringify(resource)},"search":{"mode":"match"}}`;
    }
    let device = devices.get(p.deviceId);
    if (!device) {
      const hash = observationId(patientId, p.deviceId, p.type, 0).split('.').at(-1)!;
      device = { hash, ref: `,"device":{"reference":${str(`Device/${fhirDeviceId(p.deviceId)}`)}}` };
      devices.set(p.deviceId, device);
    }
    const id = `${patient}.${TYPE_INDEX.get(p.type)!}.${p.ts}.${device.hash}`;
    return (
      `${fullUrl}${id}","resource":{"resourceType":"Observation","id":"${id}"${parts.head}${subject}` +
      `,"effectiveDateTime":"${new Date(p.ts).toISOString()}"${device.ref}${parts.code}` +
      `,"valueQuantity":{"value":${JSON.stringify(Number(p.values.value))},"unit":${parts.unit},"system":"${UCUM}","code":${parts.unit}}},"search":{"mode":"match"}}`
    );
  };
}

/** One search entry as JSON text (see `observationEntryWriter`, for many of one patient). */
export function observationEntryJson(
  baseUrl: string,
  patientId: string,
  p: ReadingPoint,
): string | undefined {
  return observationEntryWriter(baseUrl, patientId)(p);
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
