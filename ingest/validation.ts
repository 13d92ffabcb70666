// The validation stage of the durable intake. It runs for every message before the PUBACK, so
// it is ordered cheapest first and never throws: it returns the envelope or a coded reason.
// Details name paths and limits, never values (they could be PHI).
import {
  KIND_READING_TYPES,
  READING_DEFINITIONS,
  isReadingType,
  type DeviceKind,
  type Range,
} from '../core/domain.js';
import {
  bloodPressureReading,
  ecgReading,
  envelopeShell,
  locationReading,
  scalarReading,
  type Reading,
  type TelemetryEnvelope,
} from './schemas.js';

export const DEAD_LETTER_REASONS = [
  'PAYLOAD_TOO_LARGE',
  'MALFORMED_JSON',
  'SCHEMA_INVALID',
  'TOO_MANY_READINGS',
  'UNKNOWN_READING_TYPE',
  'TYPE_NOT_ALLOWED_FOR_KIND',
  'UNIT_MISMATCH',
  'VALUE_OUT_OF_RANGE',
  'CLOCK_SKEW',
  'TIMESTAMP_TOO_OLD',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface ValidationContext {
  kind: DeviceKind;
  now: number;
  maxPayloadBytes: number;
  maxReadings: number;
  maxClockSkewMs: number;
  maxAgeMs: number;
}

export type ValidationResult =
  { ok: true; envelope: TelemetryEnvelope } | { ok: false; reason: DeadLetterReason; detail: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

function refuse(reason: DeadLetterReason, detail: string): ValidationResult {
  return { ok: false, reason, detail };
}

function issuePath(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` : 'invalid';
}

const inRange = (v: number, r: Range) => v >= r.min && v <= r.max;

export function validateTelemetry(payload: Buffer, ctx: ValidationContext): ValidationResult {
  if (payload.length > ctx.maxPayloadBytes)
    return refuse('PAYLOAD_TOO_LARGE', `over ${ctx.maxPayloadBytes} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(payload));
  } catch {
    return refuse('MALFORMED_JSON', 'not UTF-8 JSON');
  }
  const shell = envelopeShell.safeParse(json);
  if (!shell.success) {
    const tooMany =
      typeof json === 'object' && json !== null && Array.isArray((json as { readings?: unknown }).readings)
        ? (json as { readings: unknown[] }).readings.length > ctx.maxReadings
        : false;
    return tooMany
      ? refuse('TOO_MANY_READINGS', `over ${ctx.maxReadings}`)
      : refuse('SCHEMA_INVALID', issuePath(shell.error));
  }
  const envelope = shell.data;
  if (envelope.readings.length > ctx.maxReadings)
    return refuse('TOO_MANY_READINGS', `over ${ctx.maxReadings}`);
  const allowed = KIND_READING_TYPES[ctx.kind];
  const readings: Reading[] = [];
  for (const [i, raw] of envelope.readings.entries()) {
    const type = raw.type;
    if (typeof type !== 'string' || !isReadingType(type))
      return refuse('UNKNOWN_READING_TYPE', `readings.${i}.type`);
    if (!allowed.includes(type))
      return refuse('TYPE_NOT_ALLOWED_FOR_KIND', `readings.${i}: ${type} from a ${ctx.kind}`);
    const def = READING_DEFINITIONS[type];
    switch (def.shape) {
      case 'scalar': {
        const r = scalarReading.safeParse(raw);
        if (!r.success) return refuse('SCHEMA_INVALID', `readings.${i}.${issuePath(r.error)}`);
        if (r.data.unit !== def.unit)
          return refuse('UNIT_MISMATCH', `readings.${i}.unit must be ${def.unit}`);
        if (!inRange(r.data.value, def.possible))
          return refuse('VALUE_OUT_OF_RANGE', `readings.${i}.value (${type})`);
        if (type === 'steps' && !Number.isInteger(r.data.value))
          return refuse('SCHEMA_INVALID', `readings.${i}.value must be whole`);
        readings.push(r.data);
        break;
      }
      case 'blood_pressure': {
        const r = bloodPressureReading.safeParse(raw);
        if (!r.success) return refuse('SCHEMA_INVALID', `readings.${i}.${issuePath(r.error)}`);
        if (r.data.unit !== def.unit)
          return refuse('UNIT_MISMATCH', `readings.${i}.unit must be ${def.unit}`);
        if (
          !inRange(r.data.systolic, def.systolic.possible) ||
          !inRange(r.data.diastolic, def.diastolic.possible)
        ) {
          return refuse('VALUE_OUT_OF_RANGE', `readings.${i} (blood_pressure)`);
        }
        if (r.data.diastolic >= r.data.systolic)
          return refuse('VALUE_OUT_OF_RANGE', `readings.${i}: diastolic ≥ systolic`);
        readings.push(r.data);
        break;
      }
      case 'ecg': {
        const r = ecgReading.safeParse(raw);
        if (!r.success) return refuse('SCHEMA_INVALID', `readings.${i}.${issuePath(r.error)}`);
        if (r.data.unit !== def.unit)
          return refuse('UNIT_MISMATCH', `readings.${i}.unit must be ${def.unit}`);
        if (!inRange(r.data.sampleRateHz, def.sampleRateHz) || r.data.samples.length > def.maxSamples) {
          return refuse('VALUE_OUT_OF_RANGE', `readings.${i} (ecg rate or length)`);
        }
        if (!r.data.samples.every((v) => inRange(v, def.possible)))
          return refuse('VALUE_OUT_OF_RANGE', `readings.${i}.samples`);
        readings.push(r.data);
        break;
      }
      case 'location': {
        const r = locationReading.safeParse(raw);
        if (!r.success) return refuse('SCHEMA_INVALID', `readings.${i}.${issuePath(r.error)}`);
        readings.push(r.data);
        break;
      }
    }
    const ts = readings[readings.length - 1]!.ts ?? envelope.ts;
    if (ts > ctx.now + ctx.maxClockSkewMs) return refuse('CLOCK_SKEW', `readings.${i} is in the future`);
    if (ts < ctx.now - ctx.maxAgeMs) return refuse('TIMESTAMP_TOO_OLD', `readings.${i} is too old`);
  }
  if (envelope.ts > ctx.now + ctx.maxClockSkewMs) return refuse('CLOCK_SKEW', 'ts is in the future');
  return { ok: true, envelope: { v: 1, seq: envelope.seq, ts: envelope.ts, readings } };
}

/** A repeat of the last seq is a duplicate; a lower one is a replay. */
export function classifySeq(lastSeq: number | undefined, seq: number): 'new' | 'duplicate' | 'replay' {
  if (lastSeq === undefined || seq > lastSeq) return 'new';
  return seq === lastSeq ? 'duplicate' : 'replay';
}
