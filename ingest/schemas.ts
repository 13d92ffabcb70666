// The device payloads of SPEC §4 as zod schemas: the telemetry envelope, one strict schema per
// reading type, the status message and the command ack. Strict objects everywhere (an unknown
// field, `__proto__` included, is refused) and finite numbers only (zod 4's number refuses NaN
// and ±Infinity, which is what `1e999` parses to).
//
// Each reading schema is the whole contract for its type: the unit must be the UCUM unit of
// READING_DEFINITIONS, and each value must lie in its physically possible range. Those two kinds
// of check carry their own messages (UNIT_MISMATCH_MESSAGE, IMPOSSIBLE_VALUE_MESSAGE) so that
// validation.ts can give each failure its dead-letter reason; every other issue is structural.
// Which device kind may send which type is not a schema matter: see validateTelemetry.
import { z } from 'zod';
import { MODALITIES, READING_DEFINITIONS, type Modality, type ReadingType } from '../core/domain.js';

/** Readings per telemetry message unless configured otherwise (`maxReadingsPerMessage`). */
export const DEFAULT_MAX_READINGS = 500;

/** Message of every issue raised by a unit that is a string but not the type's UCUM unit. */
export const UNIT_MISMATCH_MESSAGE = 'not the UCUM unit of this reading type';
/** Message of every issue raised by a value outside its physically possible range. */
export const IMPOSSIBLE_VALUE_MESSAGE = 'outside the physically possible range';

/** Epoch milliseconds, up to the largest instant a JavaScript Date can hold. */
export const epochMs = z.number().int().min(0).max(8_640_000_000_000_000);
const readingTs = epochMs.optional();

const impossible = { error: IMPOSSIBLE_VALUE_MESSAGE };
const possible = (range: { min: number; max: number }, base = z.number()) =>
  base.min(range.min, impossible).max(range.max, impossible);
const unitOf = <U extends string>(unit: U) =>
  z.literal(unit, {
    // A string that is not the unit is a mismatch; a number or a missing unit is a schema error.
    error: (issue) => (typeof issue.input === 'string' ? UNIT_MISMATCH_MESSAGE : undefined),
  });

function definition<S extends 'scalar' | 'blood_pressure' | 'ecg' | 'location'>(type: ReadingType, shape: S) {
  const def = READING_DEFINITIONS[type];
  if (def.shape !== shape) throw new Error(`${type} is not a ${shape} reading`);
  return def as Extract<typeof def, { shape: S }>;
}

function scalar<T extends ReadingType>(type: T, integer = false) {
  const def = definition(type, 'scalar');
  return z.strictObject({
    type: z.literal(type),
    value: possible(def.possible, integer ? z.number().int() : z.number()),
    unit: unitOf(def.unit),
    ts: readingTs,
  });
}

const bp = definition('blood_pressure', 'blood_pressure');
export const bloodPressureReading = z
  .strictObject({
    type: z.literal('blood_pressure'),
    systolic: possible(bp.systolic.possible),
    diastolic: possible(bp.diastolic.possible),
    unit: unitOf(bp.unit),
    ts: readingTs,
  })
  // Systolic is the peak pressure of the cycle: a diastolic at or above it cannot be measured.
  .refine((r) => r.diastolic < r.systolic, { error: IMPOSSIBLE_VALUE_MESSAGE, path: ['diastolic'] });

const ecg = definition('ecg', 'ecg');

/**
 * An ECG chunk's samples: 1 to maxSamples finite numbers, each physically possible. One plain loop
 * raising the issues zod's own array would: a zod array costs about 0.15 µs an element, so 40 µs
 * for one second at 250 Hz, against 0.5 µs here.
 */
export const ecgSamples = z.custom<number[]>().superRefine((samples, ctx) => {
  if (!Array.isArray(samples)) {
    ctx.addIssue({ code: 'invalid_type', expected: 'array', input: samples });
    return;
  }
  const n: number = samples.length;
  if (n < 1)
    ctx.addIssue({ code: 'too_small', origin: 'array', minimum: 1, inclusive: true, input: samples });
  if (n > ecg.maxSamples) {
    ctx.addIssue({
      code: 'too_big',
      origin: 'array',
      maximum: ecg.maxSamples,
      inclusive: true,
      input: samples,
    });
    return;
  }
  const { min, max } = ecg.possible;
  for (let i = 0; i < n; i++) {
    const v: unknown = samples[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      ctx.addIssue({ code: 'invalid_type', expected: 'number', path: [i], input: v });
      return;
    }
    if (v < min || v > max) {
      ctx.addIssue({ code: 'custom', message: IMPOSSIBLE_VALUE_MESSAGE, path: [i], input: v });
      return;
    }
  }
});

export const ecgReading = z.strictObject({
  type: z.literal('ecg'),
  sampleRateHz: possible(ecg.sampleRateHz),
  samples: ecgSamples,
  unit: unitOf(ecg.unit),
  ts: readingTs,
});

export const locationReading = z.strictObject({
  type: z.literal('location'),
  lat: possible({ min: -90, max: 90 }),
  lon: possible({ min: -180, max: 180 }),
  /** Radius of the 68% confidence circle, in metres (a negative one is impossible, a huge one useless). */
  accuracyM: z.number().min(0, impossible).max(100_000).optional(),
  ts: readingTs,
});

export const heartRateReading = scalar('heart_rate');
export const spo2Reading = scalar('spo2');
export const respiratoryRateReading = scalar('respiratory_rate');
export const bodyTemperatureReading = scalar('body_temperature');
export const bloodGlucoseReading = scalar('blood_glucose');
export const bodyWeightReading = scalar('body_weight');
export const stepsReading = scalar('steps', true);

/** The schema of each reading type, for validating a reading whose type is already known. */
export const READING_SCHEMAS = {
  heart_rate: heartRateReading,
  spo2: spo2Reading,
  respiratory_rate: respiratoryRateReading,
  body_temperature: bodyTemperatureReading,
  blood_pressure: bloodPressureReading,
  blood_glucose: bloodGlucoseReading,
  body_weight: bodyWeightReading,
  steps: stepsReading,
  ecg: ecgReading,
  location: locationReading,
} as const satisfies Record<ReadingType, z.ZodType>;

/** Any reading, discriminated on `type`. */
export const readingSchema = z.discriminatedUnion('type', [
  heartRateReading,
  spo2Reading,
  respiratoryRateReading,
  bodyTemperatureReading,
  bloodPressureReading,
  bloodGlucoseReading,
  bodyWeightReading,
  stepsReading,
  ecgReading,
  locationReading,
]);

export const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * The envelope with its readings left unparsed, for validating in stages: validateTelemetry checks
 * the shell, then each reading's type against the device kind, then each reading by its type.
 * Reading count bounds are checked by the caller, before any parsing.
 */
export const envelopeShell = z.strictObject({
  v: z.literal(1),
  seq: seqSchema,
  ts: epochMs,
  readings: z.array(z.unknown()),
});

/** The whole envelope for any device kind; `maxReadings` bounds the readings array. */
export function telemetryEnvelopeSchema(maxReadings: number = DEFAULT_MAX_READINGS) {
  return z.strictObject({
    v: z.literal(1),
    seq: seqSchema,
    ts: epochMs,
    readings: z.array(readingSchema).min(1).max(maxReadings),
  });
}

export type Reading = z.infer<typeof readingSchema>;
export type ReadingOf<T extends ReadingType> = Extract<Reading, { type: T }>;
export type ScalarReading = ReadingOf<
  'heart_rate' | 'spo2' | 'respiratory_rate' | 'body_temperature' | 'blood_glucose' | 'body_weight' | 'steps'
>;
export type BloodPressureReading = z.infer<typeof bloodPressureReading>;
export type EcgReading = z.infer<typeof ecgReading>;
export type LocationReading = z.infer<typeof locationReading>;

export interface TelemetryEnvelope {
  v: 1;
  seq: number;
  ts: number;
  readings: Reading[];
  /** How its readings came to be; a direct device's are `sensed` (docs/GATEWAYS.md). */
  modality?: Modality;
}

/**
 * Where a reading relayed by a gateway came from, sealed with its values (never a tag): the
 * gateway, the modality, the gateway's receive time and the device's own, uncorrected timestamp.
 */
export interface ReadingSource {
  gateway: string;
  modality: Modality;
  receivedAt: number;
  deviceTime?: number;
  /** The IEEE 11073-10101 code of the measurement, for the device's kind (core/nomenclature.ts). */
  mdc?: number;
}

/** The measuring device as the gateway saw it (IEEE 11073 system id or Bluetooth address, …). */
export const measuringDeviceIdentity = z
  .strictObject({
    /** IEEE EUI-64 system id, 16 hex digits. */
    systemId: z
      .string()
      .regex(/^[0-9A-Fa-f]{16}$/)
      .optional(),
    /** Bluetooth device address, six hex pairs. */
    address: z
      .string()
      .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/)
      .optional(),
    manufacturer: z.string().min(1).max(64).optional(),
    model: z.string().min(1).max(64).optional(),
    serial: z.string().min(1).max(64).optional(),
    firmware: z
      .string()
      .regex(/^[A-Za-z0-9._+-]{1,32}$/)
      .optional(),
  })
  .refine((d) => d.systemId !== undefined || d.address !== undefined, {
    error: 'systemId or address is required',
    path: ['systemId'],
  });

/**
 * `gateways/{gw}/devices/{dev}/telemetry`: the envelope of SPEC §4 plus the measuring device, the
 * modality, the gateway's receive time and, for a device with a clock, a coincident time
 * reference (the device's clock and the gateway's, read at the same instant). Readings are
 * validated as a direct device's, after their timestamps are corrected (relayed-envelope.ts).
 */
export const relayedEnvelopeShell = z.strictObject({
  v: z.literal(1),
  seq: seqSchema,
  ts: epochMs,
  device: measuringDeviceIdentity,
  modality: z.enum(MODALITIES),
  receivedAt: epochMs,
  clock: z.strictObject({ device: epochMs, gateway: epochMs }).optional(),
  readings: z.array(z.unknown()),
});
export type RelayedEnvelopeShell = z.infer<typeof relayedEnvelopeShell>;

/** `devices/{id}/status`. */
export const statusMessage = z.strictObject({
  v: z.literal(1),
  firmware: z.string().regex(/^[A-Za-z0-9._+-]{1,32}$/),
  battery: z.number().min(0).max(1),
  uptimeS: z.number().int().min(0),
});
export type StatusMessage = z.infer<typeof statusMessage>;

/** `devices/{id}/commands/ack`. */
export const commandAck = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1).max(128),
  status: z.enum(['done', 'rejected']),
  detail: z.string().max(500).optional(),
});
export type CommandAck = z.infer<typeof commandAck>;
