// The clinical and device vocabulary of the hub (SPEC §4): device kinds, reading types with
// their LOINC codes and UCUM units, and the physically possible range of each value.
// Physically possible is not clinically normal: a value outside `possible` is a dead letter,
// a value inside it but alarming is stored and raises an alert (ingest/alerts).

export const DEVICE_KINDS = [
  'wearable',
  'pulse_oximeter',
  'bp_monitor',
  'glucometer',
  'weight_scale',
  'thermometer',
  'gateway',
] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/**
 * A gateway (a phone app or a home hub) is an identity of its own that relays the readings of
 * the Bluetooth devices bound to it (docs/GATEWAYS.md); it measures nothing itself.
 */
export const GATEWAY_KIND = 'gateway';
/** The kinds that measure: every kind but the gateway. */
export const MEASURING_KINDS = DEVICE_KINDS.filter(
  (k): k is Exclude<DeviceKind, 'gateway'> => k !== GATEWAY_KIND,
);
export type MeasuringKind = (typeof MEASURING_KINDS)[number];

/** How a reading came to be: sent by the device itself, or typed in by a person (docs/GATEWAYS.md). */
export const MODALITIES = ['sensed', 'manual'] as const;
export type Modality = (typeof MODALITIES)[number];

export const READING_TYPES = [
  'heart_rate',
  'spo2',
  'respiratory_rate',
  'body_temperature',
  'blood_pressure',
  'blood_glucose',
  'body_weight',
  'steps',
  'ecg',
  'location',
] as const;
export type ReadingType = (typeof READING_TYPES)[number];

/** Which reading types each device kind may send. A type outside its kind is invalid. */
export const KIND_READING_TYPES: Readonly<Record<DeviceKind, readonly ReadingType[]>> = {
  wearable: ['heart_rate', 'spo2', 'body_temperature', 'steps', 'ecg', 'location'],
  pulse_oximeter: ['spo2', 'heart_rate'],
  bp_monitor: ['blood_pressure', 'heart_rate'],
  glucometer: ['blood_glucose'],
  weight_scale: ['body_weight'],
  thermometer: ['body_temperature'],
  gateway: [],
};

export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface ScalarReadingDefinition {
  readonly shape: 'scalar';
  readonly loinc: string;
  readonly display: string;
  readonly unit: string;
  /** Physically possible values; outside this the reading is a dead letter. */
  readonly possible: Range;
}

export interface BloodPressureDefinition {
  readonly shape: 'blood_pressure';
  readonly loinc: string;
  readonly display: string;
  readonly unit: 'mm[Hg]';
  readonly systolic: { readonly loinc: string; readonly possible: Range };
  readonly diastolic: { readonly loinc: string; readonly possible: Range };
}

export interface EcgDefinition {
  readonly shape: 'ecg';
  /** ECG has no LOINC vital-sign code; FHIR uses the ISO/IEEE 11073 MDC code. */
  readonly mdc: { readonly system: 'urn:iso:std:iso:11073:10101'; readonly code: string };
  readonly display: string;
  readonly unit: 'mV';
  readonly sampleRateHz: Range;
  readonly maxSamples: number;
  readonly possible: Range;
}

export interface LocationDefinition {
  readonly shape: 'location';
  readonly display: string;
}

export type ReadingDefinition =
  ScalarReadingDefinition | BloodPressureDefinition | EcgDefinition | LocationDefinition;

export const READING_DEFINITIONS: Readonly<Record<ReadingType, ReadingDefinition>> = {
  heart_rate: {
    shape: 'scalar',
    loinc: '8867-4',
    display: 'Heart rate',
    unit: '/min',
    possible: { min: 10, max: 350 },
  },
  spo2: {
    shape: 'scalar',
    loinc: '59408-5',
    display: 'Oxygen saturation in Arterial blood by Pulse oximetry',
    unit: '%',
    possible: { min: 30, max: 100 },
  },
  respiratory_rate: {
    shape: 'scalar',
    loinc: '9279-1',
    display: 'Respiratory rate',
    unit: '/min',
    possible: { min: 1, max: 120 },
  },
  body_temperature: {
    shape: 'scalar',
    loinc: '8310-5',
    display: 'Body temperature',
    unit: 'Cel',
    possible: { min: 25, max: 45 },
  },
  blood_pressure: {
    shape: 'blood_pressure',
    loinc: '85354-9',
    display: 'Blood pressure panel with all children optional',
    unit: 'mm[Hg]',
    systolic: { loinc: '8480-6', possible: { min: 30, max: 300 } },
    diastolic: { loinc: '8462-4', possible: { min: 10, max: 250 } },
  },
  blood_glucose: {
    shape: 'scalar',
    loinc: '2339-0',
    display: 'Glucose [Mass/volume] in Blood',
    unit: 'mg/dL',
    possible: { min: 10, max: 1500 },
  },
  body_weight: {
    shape: 'scalar',
    loinc: '29463-7',
    display: 'Body weight',
    unit: 'kg',
    possible: { min: 0.3, max: 650 },
  },
  steps: {
    shape: 'scalar',
    loinc: '55423-8',
    display: 'Number of steps in unspecified time Pedometer',
    unit: '{steps}',
    possible: { min: 0, max: 100_000 },
  },
  ecg: {
    shape: 'ecg',
    mdc: { system: 'urn:iso:std:iso:11073:10101', code: '131328' },
    display: 'MDC_ECG_ELEC_POTL',
    unit: 'mV',
    sampleRateHz: { min: 50, max: 1000 },
    maxSamples: 5000,
    possible: { min: -10, max: 10 },
  },
  location: { shape: 'location', display: 'Device location' },
};

/** Device identifiers double as MQTT client ids, certificate CNs and topic segments. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const DEVICE_STATUSES = ['pending', 'active', 'disabled', 'quarantined', 'revoked', 'wiped'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const ROLES = ['admin', 'clinician', 'engineer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export function isDeviceKind(value: string): value is DeviceKind {
  return (DEVICE_KINDS as readonly string[]).includes(value);
}

export function isReadingType(value: string): value is ReadingType {
  return (READING_TYPES as readonly string[]).includes(value);
}
