import { describe, expect, it } from 'vitest';
import {
  MEASURING_KINDS as DEVICE_KINDS,
  KIND_READING_TYPES,
  type DeviceKind,
} from '../../../core/domain.js';
import { telemetryEnvelopeSchema } from '../../../ingest/schemas.js';
import {
  DEAD_LETTER_REASONS,
  classifySeq,
  validateTelemetry,
  type DeadLetterReason,
  type ValidationContext,
} from '../../../ingest/validation.js';

const now = 1_800_000_000_000;
const SKEW = 300_000;
const DAY = 86_400_000;
const ctx = (kind: DeviceKind = 'wearable', over: Partial<ValidationContext> = {}): ValidationContext => ({
  kind,
  now,
  maxPayloadBytes: 65_536,
  maxReadings: 500,
  maxClockSkewMs: SKEW,
  maxAgeMs: 30 * DAY,
  ...over,
});
const envelope = (readings: unknown[], extra: Record<string, unknown> = {}) => ({
  v: 1,
  seq: 7,
  ts: now,
  readings,
  ...extra,
});
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const env = (readings: unknown[], extra: Record<string, unknown> = {}) => bytes(envelope(readings, extra));

const glucose = (value = 95, extra: Record<string, unknown> = {}) => ({
  type: 'blood_glucose',
  value,
  unit: 'mg/dL',
  ...extra,
});

// Every reading type a kind may send, with alarming-but-possible values among them.
const VALID: Record<Exclude<DeviceKind, 'gateway'>, unknown[]> = {
  wearable: [
    { type: 'heart_rate', value: 72, unit: '/min' },
    { type: 'spo2', value: 97, unit: '%' },
    { type: 'body_temperature', value: 36.8, unit: 'Cel', ts: now - 60_000 },
    { type: 'steps', value: 1200, unit: '{steps}' },
    { type: 'ecg', sampleRateHz: 250, samples: [0.12, 0.15, -0.4, 1.9], unit: 'mV' },
    { type: 'location', lat: 52.37, lon: 4.89, accuracyM: 12 },
    { type: 'location', lat: -33.86, lon: 151.2 },
  ],
  pulse_oximeter: [
    { type: 'spo2', value: 85, unit: '%' },
    { type: 'heart_rate', value: 181, unit: '/min' },
  ],
  bp_monitor: [
    { type: 'blood_pressure', systolic: 121, diastolic: 79, unit: 'mm[Hg]', ts: now - 3000 },
    { type: 'blood_pressure', systolic: 195, diastolic: 125, unit: 'mm[Hg]' },
    { type: 'heart_rate', value: 64, unit: '/min' },
  ],
  glucometer: [glucose(95), glucose(42)],
  weight_scale: [{ type: 'body_weight', value: 71.4, unit: 'kg' }],
  thermometer: [{ type: 'body_temperature', value: 40.6, unit: 'Cel' }],
};

function refusal(payload: Buffer, kind: DeviceKind = 'wearable', over: Partial<ValidationContext> = {}) {
  const result = validateTelemetry(payload, ctx(kind, over));
  if (result.ok) throw new Error(`accepted: ${payload.toString('utf8').slice(0, 200)}`);
  return result;
}

describe('validateTelemetry accepts', () => {
  it.each(DEVICE_KINDS)('a valid envelope from a %s, unchanged', (kind) => {
    const input = envelope(VALID[kind]);
    const result = validateTelemetry(bytes(input), ctx(kind));
    expect(result).toEqual({ ok: true, envelope: input });
    // What validation accepts, the kind-agnostic contract schema accepts too.
    if (result.ok) expect(telemetryEnvelopeSchema().safeParse(result.envelope).success).toBe(true);
  });

  it('covers every type each kind may send', () => {
    for (const kind of DEVICE_KINDS) {
      const sent = new Set(VALID[kind].map((r) => (r as { type: string }).type));
      expect([...sent].sort(), kind).toEqual([...KIND_READING_TYPES[kind]].sort());
    }
  });

  it('values at the edge of the physically possible', () => {
    for (const value of [10, 350]) {
      expect(
        validateTelemetry(env([{ type: 'heart_rate', value, unit: '/min' }]), ctx('pulse_oximeter')).ok,
      ).toBe(true);
    }
    expect(validateTelemetry(env([{ type: 'spo2', value: 100, unit: '%' }]), ctx()).ok).toBe(true);
    expect(validateTelemetry(env([{ type: 'steps', value: 0, unit: '{steps}' }]), ctx()).ok).toBe(true);
    expect(validateTelemetry(env([{ type: 'location', lat: 90, lon: -180 }]), ctx()).ok).toBe(true);
  });

  it('seq 0 and the largest safe integer', () => {
    for (const seq of [0, Number.MAX_SAFE_INTEGER]) {
      const result = validateTelemetry(env(VALID.glucometer, { seq }), ctx('glucometer'));
      expect(result).toMatchObject({ ok: true, envelope: { seq } });
    }
  });

  it('a timestamp within the clock-skew allowance, up to its edge', () => {
    for (const ts of [now + SKEW - 1, now + SKEW]) {
      expect(validateTelemetry(env(VALID.glucometer, { ts }), ctx('glucometer')).ok).toBe(true);
      expect(validateTelemetry(env([glucose(90, { ts })]), ctx('glucometer')).ok).toBe(true);
    }
  });

  it('a store-and-forward batch with older per-reading timestamps', () => {
    const readings = [glucose(90, { ts: now - 29 * DAY }), glucose(91, { ts: now - DAY }), glucose(92)];
    expect(validateTelemetry(env(readings), ctx('glucometer'))).toMatchObject({
      ok: true,
      envelope: { readings: [{ ts: now - 29 * DAY }, { ts: now - DAY }, { value: 92 }] },
    });
  });

  it('any age when maxAgeMs is not given', () => {
    const old = env([glucose(90, { ts: now - 3650 * DAY })], { ts: now - 3650 * DAY });
    expect(validateTelemetry(old, ctx('glucometer', { maxAgeMs: undefined })).ok).toBe(true);
    expect(refusal(old, 'glucometer').reason).toBe('TIMESTAMP_TOO_OLD');
  });

  it('exactly maxPayloadBytes and exactly maxReadings', () => {
    const payload = env(VALID.glucometer);
    expect(validateTelemetry(payload, ctx('glucometer', { maxPayloadBytes: payload.length })).ok).toBe(true);
    const full = env(Array.from({ length: 500 }, (_, i) => glucose(60 + (i % 100))));
    expect(validateTelemetry(full, ctx('glucometer')).ok).toBe(true);
  });

  it('returns fresh objects: the parsed payload is not handed on', () => {
    const result = validateTelemetry(env(VALID.bp_monitor), ctx('bp_monitor'));
    expect(result.ok).toBe(true);
    if (result.ok) expect(Object.getPrototypeOf(result.envelope.readings[0])).toBe(Object.prototype);
  });
});

interface Case {
  name: string;
  payload: Buffer;
  reason: DeadLetterReason;
  kind?: DeviceKind;
  over?: Partial<ValidationContext>;
  /** Values from the payload that the detail must not repeat (besides the PHI canary). */
  secret?: string[];
}

const CANARY = 'Jane Q Patient';
const big = (n: number) => Array.from({ length: n }, () => glucose());

const CASES: Case[] = [
  // Size, encoding, syntax.
  {
    name: 'an oversized payload (before parsing: even garbage)',
    payload: Buffer.alloc(70_000, 0xff),
    reason: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'an oversized valid envelope',
    payload: env(VALID.glucometer, { pad: CANARY.repeat(5000) }),
    reason: 'PAYLOAD_TOO_LARGE',
    kind: 'glucometer',
  },
  {
    name: 'a payload one byte over a small limit',
    payload: env(VALID.glucometer),
    reason: 'PAYLOAD_TOO_LARGE',
    kind: 'glucometer',
    over: { maxPayloadBytes: env(VALID.glucometer).length - 1 },
  },
  { name: 'garbage bytes', payload: Buffer.from([0xc3, 0x28, 0xff, 0x00]), reason: 'MALFORMED_JSON' },
  { name: 'an empty payload', payload: Buffer.alloc(0), reason: 'MALFORMED_JSON' },
  { name: 'plain text', payload: bytes(CANARY), reason: 'MALFORMED_JSON', secret: [CANARY] },
  {
    name: 'truncated JSON',
    payload: env(VALID.glucometer).subarray(0, 30),
    reason: 'MALFORMED_JSON',
  },
  {
    name: 'invalid UTF-8 inside a JSON string',
    payload: Buffer.concat([
      bytes(`{"v":1,"seq":1,"ts":${now},"readings":[],"x":"`),
      Buffer.from([0xff]),
      bytes('"}'),
    ]),
    reason: 'MALFORMED_JSON',
  },
  {
    name: 'an overlong UTF-8 encoding',
    payload: Buffer.concat([bytes('{"a":"'), Buffer.from([0xc0, 0xaf]), bytes('"}')]),
    reason: 'MALFORMED_JSON',
  },
  {
    name: 'a UTF-8-encoded lone surrogate',
    payload: Buffer.concat([bytes('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), bytes('"}')]),
    reason: 'MALFORMED_JSON',
  },
  {
    name: 'NaN (not JSON)',
    payload: bytes(`{"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":NaN,"unit":"%"}]}`),
    reason: 'MALFORMED_JSON',
  },
  {
    name: 'a deeply nested array',
    payload: bytes('['.repeat(30_000) + ']'.repeat(30_000)),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'a deeply nested value',
    payload: bytes(
      `{"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":${'['.repeat(20_000)}${']'.repeat(20_000)},"unit":"%"}]}`,
    ),
    reason: 'SCHEMA_INVALID',
  },
  // Reading count, before the readings are parsed.
  { name: 'too many readings', payload: env(big(501)), reason: 'TOO_MANY_READINGS', kind: 'glucometer' },
  {
    name: 'too many readings for a configured limit',
    payload: env(big(4)),
    reason: 'TOO_MANY_READINGS',
    kind: 'glucometer',
    over: { maxReadings: 3 },
  },
  {
    name: 'too many readings that are not even objects',
    payload: env(Array.from({ length: 501 }, () => null)),
    reason: 'TOO_MANY_READINGS',
  },
  // The envelope shell.
  { name: 'a JSON array', payload: bytes([VALID.glucometer]), reason: 'SCHEMA_INVALID' },
  { name: 'JSON null', payload: bytes('null'), reason: 'SCHEMA_INVALID' },
  {
    name: 'a JSON string',
    payload: bytes(JSON.stringify(CANARY)),
    reason: 'SCHEMA_INVALID',
    secret: [CANARY],
  },
  { name: 'a JSON number', payload: bytes('1842'), reason: 'SCHEMA_INVALID', secret: ['1842'] },
  { name: 'v 2', payload: env(VALID.glucometer, { v: 2 }), reason: 'SCHEMA_INVALID', kind: 'glucometer' },
  {
    name: 'a missing seq',
    payload: bytes({ v: 1, ts: now, readings: VALID.glucometer }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  {
    name: 'a string seq',
    payload: env(VALID.glucometer, { seq: '8675309' }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
    secret: ['8675309'],
  },
  {
    name: 'a negative seq',
    payload: env(VALID.glucometer, { seq: -8675309 }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
    secret: ['8675309'],
  },
  {
    name: 'a fractional seq',
    payload: env(VALID.glucometer, { seq: 867.5309 }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
    secret: ['867.5309'],
  },
  {
    name: 'a seq beyond the safe integers',
    payload: env(VALID.glucometer, { seq: 2 ** 53 }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
    secret: [String(2 ** 53)],
  },
  {
    name: 'seq 1e999 (Infinity)',
    payload: bytes(`{"v":1,"seq":1e999,"ts":${now},"readings":[${JSON.stringify(glucose())}]}`),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
    secret: ['Infinity'],
  },
  {
    name: 'a string ts',
    payload: env(VALID.glucometer, { ts: new Date(now).toISOString() }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
    secret: [new Date(now).toISOString()],
  },
  {
    name: 'a fractional ts',
    payload: env(VALID.glucometer, { ts: now + 0.5 }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  {
    name: 'a negative ts',
    payload: env(VALID.glucometer, { ts: -1 }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  {
    name: 'readings as an object',
    payload: bytes({ v: 1, seq: 1, ts: now, readings: { 0: glucose() } }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  { name: 'no readings', payload: env([]), reason: 'SCHEMA_INVALID', kind: 'glucometer' },
  {
    name: 'an unknown envelope field',
    payload: env(VALID.glucometer, { patientName: CANARY }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
    secret: [CANARY, 'patientName'],
  },
  {
    name: 'an unknown envelope field whose name is PHI',
    payload: env(VALID.glucometer, { [CANARY]: 1 }),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  // Readings that cannot be typed.
  {
    name: 'a reading that is an array',
    payload: env([[glucose()]]),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  { name: 'a reading that is null', payload: env([null]), reason: 'SCHEMA_INVALID', kind: 'glucometer' },
  {
    name: 'a reading without a type',
    payload: env([{ value: 95, unit: 'mg/dL' }]),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  {
    name: 'a numeric type',
    payload: env([{ type: 4, value: 95, unit: 'mg/dL' }]),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  {
    name: 'an unknown type',
    payload: env([{ type: 'mood', value: 3, unit: '1' }]),
    reason: 'UNKNOWN_READING_TYPE',
    secret: ['mood'],
  },
  {
    name: 'a type whose name is PHI',
    payload: env([{ type: CANARY, value: 3 }]),
    reason: 'UNKNOWN_READING_TYPE',
  },
  {
    name: 'blood_glucose from a pulse_oximeter',
    payload: env([{ type: 'spo2', value: 97, unit: '%' }, glucose(90)]),
    reason: 'TYPE_NOT_ALLOWED_FOR_KIND',
    kind: 'pulse_oximeter',
    secret: ['blood_glucose'],
  },
  {
    name: 'respiratory_rate (a known type no kind sends)',
    payload: env([{ type: 'respiratory_rate', value: 16, unit: '/min' }]),
    reason: 'TYPE_NOT_ALLOWED_FOR_KIND',
  },
  {
    name: 'ecg from a thermometer',
    payload: env([{ type: 'ecg', sampleRateHz: 250, samples: [0.1], unit: 'mV' }]),
    reason: 'TYPE_NOT_ALLOWED_FOR_KIND',
    kind: 'thermometer',
  },
  // Readings against their type's schema.
  {
    name: 'a string value',
    payload: env([{ type: 'heart_rate', value: '72.25', unit: '/min' }]),
    reason: 'SCHEMA_INVALID',
    secret: ['72.25'],
  },
  {
    name: 'an object value',
    payload: env([{ type: 'heart_rate', value: { bpm: 72.25 }, unit: '/min' }]),
    reason: 'SCHEMA_INVALID',
    secret: ['72.25', 'bpm'],
  },
  {
    name: 'value 1e999 (Infinity)',
    payload: bytes(
      `{"v":1,"seq":1,"ts":${now},"readings":[{"type":"heart_rate","value":1e999,"unit":"/min"}]}`,
    ),
    reason: 'SCHEMA_INVALID',
    secret: ['Infinity'],
  },
  {
    name: 'value -1e999 (-Infinity)',
    payload: bytes(`{"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":-1e999,"unit":"%"}]}`),
    reason: 'SCHEMA_INVALID',
    secret: ['Infinity'],
  },
  {
    name: 'an ECG sample of 1e999',
    payload: bytes(
      `{"v":1,"seq":1,"ts":${now},"readings":[{"type":"ecg","sampleRateHz":250,"samples":[0.1,1e999],"unit":"mV"}]}`,
    ),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'a missing value',
    payload: env([{ type: 'heart_rate', unit: '/min' }]),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'a missing unit',
    payload: env([{ type: 'heart_rate', value: 72.25 }]),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'a numeric unit',
    payload: env([{ type: 'heart_rate', value: 72.25, unit: 60 }]),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'fractional steps',
    payload: env([{ type: 'steps', value: 1200.5, unit: '{steps}' }]),
    reason: 'SCHEMA_INVALID',
    secret: ['1200.5'],
  },
  {
    name: 'a fractional reading ts',
    payload: env([glucose(90, { ts: now - 0.5 })]),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
  },
  {
    name: 'an ECG chunk without samples',
    payload: env([{ type: 'ecg', sampleRateHz: 250, samples: [], unit: 'mV' }]),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'an ECG chunk with no samples field',
    payload: env([{ type: 'ecg', sampleRateHz: 250, unit: 'mV' }]),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'ECG samples as a string',
    payload: env([{ type: 'ecg', sampleRateHz: 250, samples: '0.125,0.25', unit: 'mV' }]),
    reason: 'SCHEMA_INVALID',
    secret: ['0.125'],
  },
  {
    name: 'an ECG sample that is a string',
    payload: env([{ type: 'ecg', sampleRateHz: 250, samples: [0.125, '0.25'], unit: 'mV' }]),
    reason: 'SCHEMA_INVALID',
    secret: ['0.125', '0.25'],
  },
  {
    name: 'an ECG chunk over maxSamples',
    payload: env([{ type: 'ecg', sampleRateHz: 250, samples: Array<number>(5001).fill(0.1), unit: 'mV' }]),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'an unknown reading field',
    payload: env([{ type: 'heart_rate', value: 72.25, unit: '/min', note: CANARY }]),
    reason: 'SCHEMA_INVALID',
    secret: [CANARY, 'note'],
  },
  {
    name: 'a location with an extra field',
    payload: env([{ type: 'location', lat: 52.37, lon: 4.89, unit: 'deg' }]),
    reason: 'SCHEMA_INVALID',
  },
  // Units.
  {
    name: 'Fahrenheit',
    payload: env([{ type: 'body_temperature', value: 98.6, unit: '[degF]' }]),
    reason: 'UNIT_MISMATCH',
    kind: 'thermometer',
    secret: ['98.6', '[degF]'],
  },
  {
    name: 'mmHg for mm[Hg]',
    payload: env([{ type: 'blood_pressure', systolic: 121, diastolic: 79, unit: 'mmHg' }]),
    reason: 'UNIT_MISMATCH',
    kind: 'bp_monitor',
    secret: ['121', 'mmHg'],
  },
  {
    name: 'mmol/L glucose',
    payload: env([glucose(5.3, { unit: 'mmol/L' })]),
    reason: 'UNIT_MISMATCH',
    kind: 'glucometer',
    secret: ['5.3', 'mmol'],
  },
  {
    name: 'a percentage as a fraction unit',
    payload: env([{ type: 'spo2', value: 97.25, unit: '1' }]),
    reason: 'UNIT_MISMATCH',
    secret: ['97.25'],
  },
  // Physically impossible values.
  {
    name: 'HR 0',
    payload: env([{ type: 'heart_rate', value: 0, unit: '/min' }]),
    reason: 'VALUE_OUT_OF_RANGE',
  },
  {
    name: 'HR 351',
    payload: env([{ type: 'heart_rate', value: 351, unit: '/min' }]),
    reason: 'VALUE_OUT_OF_RANGE',
    secret: ['351'],
  },
  {
    name: 'SpO2 120',
    payload: env([{ type: 'spo2', value: 120, unit: '%' }]),
    reason: 'VALUE_OUT_OF_RANGE',
    secret: ['120'],
  },
  {
    name: 'systolic 500',
    payload: env([{ type: 'blood_pressure', systolic: 500, diastolic: 80, unit: 'mm[Hg]' }]),
    reason: 'VALUE_OUT_OF_RANGE',
    kind: 'bp_monitor',
    secret: ['500'],
  },
  {
    name: 'diastolic above systolic',
    payload: env([{ type: 'blood_pressure', systolic: 118, diastolic: 123, unit: 'mm[Hg]' }]),
    reason: 'VALUE_OUT_OF_RANGE',
    kind: 'bp_monitor',
    secret: ['118', '123'],
  },
  {
    name: 'body temperature 12.5 Cel',
    payload: env([{ type: 'body_temperature', value: 12.5, unit: 'Cel' }]),
    reason: 'VALUE_OUT_OF_RANGE',
    kind: 'thermometer',
    secret: ['12.5'],
  },
  {
    name: 'glucose 4000 mg/dL',
    payload: env([glucose(4000)]),
    reason: 'VALUE_OUT_OF_RANGE',
    kind: 'glucometer',
    secret: ['4000'],
  },
  {
    name: 'weight 0 kg',
    payload: env([{ type: 'body_weight', value: 0, unit: 'kg' }]),
    reason: 'VALUE_OUT_OF_RANGE',
    kind: 'weight_scale',
  },
  {
    name: 'negative steps',
    payload: env([{ type: 'steps', value: -12, unit: '{steps}' }]),
    reason: 'VALUE_OUT_OF_RANGE',
  },
  {
    name: 'an ECG sample of 55.5 mV',
    payload: env([{ type: 'ecg', sampleRateHz: 250, samples: [0.1, 55.5], unit: 'mV' }]),
    reason: 'VALUE_OUT_OF_RANGE',
    secret: ['55.5'],
  },
  {
    name: 'an ECG sample rate of 7 Hz',
    payload: env([{ type: 'ecg', sampleRateHz: 7, samples: [0.1], unit: 'mV' }]),
    reason: 'VALUE_OUT_OF_RANGE',
  },
  {
    name: 'latitude 91.25',
    payload: env([{ type: 'location', lat: 91.25, lon: 4.89 }]),
    reason: 'VALUE_OUT_OF_RANGE',
    secret: ['91.25', '4.89'],
  },
  {
    name: 'longitude -181.5',
    payload: env([{ type: 'location', lat: 52.37, lon: -181.5 }]),
    reason: 'VALUE_OUT_OF_RANGE',
    secret: ['181.5', '52.37'],
  },
  {
    name: 'a negative location accuracy',
    payload: env([{ type: 'location', lat: 52.37, lon: 4.89, accuracyM: -3 }]),
    reason: 'VALUE_OUT_OF_RANGE',
    secret: ['52.37'],
  },
  // Timestamps.
  {
    name: 'an envelope ts beyond the skew',
    payload: env(VALID.glucometer, { ts: now + SKEW + 1 }),
    reason: 'CLOCK_SKEW',
    kind: 'glucometer',
    secret: [String(now + SKEW + 1)],
  },
  {
    name: 'a reading ts beyond the skew',
    payload: env([glucose(90), glucose(91, { ts: now + 10 * SKEW })]),
    reason: 'CLOCK_SKEW',
    kind: 'glucometer',
    secret: [String(now + 10 * SKEW)],
  },
  {
    name: 'a reading ts beyond a tighter skew',
    payload: env([glucose(90, { ts: now + 2000 })]),
    reason: 'CLOCK_SKEW',
    kind: 'glucometer',
    over: { maxClockSkewMs: 1000 },
  },
  {
    name: 'a reading older than maxAgeMs',
    payload: env([glucose(90, { ts: now - 40 * DAY })]),
    reason: 'TIMESTAMP_TOO_OLD',
    kind: 'glucometer',
    secret: [String(now - 40 * DAY)],
  },
  {
    name: 'an envelope older than maxAgeMs',
    payload: env(VALID.glucometer, { ts: now - 31 * DAY }),
    reason: 'TIMESTAMP_TOO_OLD',
    kind: 'glucometer',
  },
  // Keys that target prototypes: refused as unknown fields, at every level.
  {
    name: '__proto__ in the envelope',
    payload: bytes(
      `{"v":1,"seq":1,"ts":${now},"readings":[${JSON.stringify(glucose())}],"__proto__":{"polluted":true}}`,
    ),
    reason: 'SCHEMA_INVALID',
    kind: 'glucometer',
    secret: ['__proto__', 'polluted'],
  },
  {
    name: '__proto__ in a reading',
    payload: bytes(
      `{"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":97,"unit":"%","__proto__":{"polluted":true}}]}`,
    ),
    reason: 'SCHEMA_INVALID',
    secret: ['__proto__', 'polluted'],
  },
  {
    name: '__proto__ as a reading',
    payload: bytes(
      `{"v":1,"seq":1,"ts":${now},"readings":[{"__proto__":{"type":"spo2","value":97,"unit":"%"}}]}`,
    ),
    reason: 'SCHEMA_INVALID',
  },
  {
    name: 'constructor.prototype in a reading',
    payload: bytes(
      `{"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":97,"unit":"%","constructor":{"prototype":{"polluted":true}}}]}`,
    ),
    reason: 'SCHEMA_INVALID',
    secret: ['constructor', 'polluted'],
  },
];

describe('validateTelemetry refuses', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = refusal(c.payload, c.kind ?? 'wearable', c.over);
    expect(result.reason).toBe(c.reason);
    expect(result.detail.length).toBeGreaterThan(0);
    expect(result.detail.length).toBeLessThan(120);
    for (const secret of [CANARY, 'Jane', ...(c.secret ?? [])]) expect(result.detail).not.toContain(secret);
  });

  it('with every reason in DEAD_LETTER_REASONS exercised above', () => {
    const seen = new Set(CASES.map((c) => c.reason));
    expect(DEAD_LETTER_REASONS.filter((r) => !seen.has(r))).toEqual([]);
    expect(new Set(DEAD_LETTER_REASONS).size).toBe(DEAD_LETTER_REASONS.length);
  });

  it('naming the reading at fault by its path', () => {
    const detail = (p: Buffer, kind: DeviceKind = 'wearable') => refusal(p, kind).detail;
    expect(detail(env([glucose(), glucose(), glucose(95, { extra: 1 })]), 'glucometer')).toMatch(
      /^readings\.2\b/,
    );
    expect(detail(env([glucose(), glucose(95, { unit: 'mmol/L' })]), 'glucometer')).toBe(
      'readings.1.unit: must be mg/dL',
    );
    expect(
      detail(
        env([
          { type: 'spo2', value: 97, unit: '%' },
          { type: 'spo2', value: 120, unit: '%' },
        ]),
      ),
    ).toMatch(/^readings\.1\.value\b/);
    expect(
      detail(env([{ type: 'blood_pressure', systolic: 121, diastolic: 500, unit: 'mm[Hg]' }]), 'bp_monitor'),
    ).toMatch(/^readings\.0\.diastolic\b/);
    expect(detail(env([{ type: 'ecg', sampleRateHz: 250, samples: [0, 0, 99], unit: 'mV' }]))).toMatch(
      /^readings\.0\.samples\.2\b/,
    );
    expect(detail(env(VALID.glucometer, { seq: -1 }), 'glucometer')).toMatch(/^seq\b/);
  });

  it('with the earliest stage failed, whatever the reading order', () => {
    const spo2 = (value: number, unit = '%') => ({ type: 'spo2', value, unit });
    const reason = (readings: unknown[], extra: Record<string, unknown> = {}) =>
      refusal(env(readings, extra), 'pulse_oximeter').reason;
    // An impossible value before a unit mismatch, a unit before a schema error, and so on up.
    expect(reason([spo2(120), spo2(97, '1')])).toBe('UNIT_MISMATCH');
    expect(reason([spo2(97, '1'), spo2(120)])).toBe('UNIT_MISMATCH');
    expect(reason([spo2(97, '1'), { type: 'spo2', value: '97', unit: '%' }])).toBe('SCHEMA_INVALID');
    expect(reason([spo2(120), glucose()])).toBe('TYPE_NOT_ALLOWED_FOR_KIND');
    expect(reason([glucose(), { type: 'mood', value: 1 }])).toBe('UNKNOWN_READING_TYPE');
    expect(reason([{ type: 'mood', value: 1 }, { value: 1 }])).toBe('SCHEMA_INVALID');
    expect(reason([spo2(120)], { ts: now + 10 * SKEW })).toBe('VALUE_OUT_OF_RANGE');
    expect(reason([spo2(97, '1')], { ts: now - 365 * DAY })).toBe('UNIT_MISMATCH');
    expect(reason([spo2(97, '1')], { seq: -1 })).toBe('SCHEMA_INVALID');
    expect(reason([{ ...spo2(97), ts: now - 365 * DAY }], { ts: now + 10 * SKEW })).toBe('CLOCK_SKEW');
  });
});

describe('prototype pollution', () => {
  it('leaves Object.prototype alone, whatever the payload', () => {
    const payloads = CASES.filter((c) => c.name.includes('proto')).map((c) => c.payload);
    payloads.push(
      bytes(
        `{"__proto__":{"polluted":true},"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":97,"unit":"%"}]}`,
      ),
      bytes(
        `{"v":1,"seq":1,"ts":${now},"readings":[{"type":"location","lat":1,"lon":2,"__proto__":{"polluted":1}}]}`,
      ),
    );
    for (const payload of payloads) {
      expect(validateTelemetry(payload, ctx()).ok).toBe(false);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(Object.prototype).not.toHaveProperty('type');
    }
  });
});

describe('validateTelemetry under arbitrary input', () => {
  // A small deterministic PRNG, so a failure reproduces.
  let state = 0x2545f491;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };

  it('never throws, and refuses with a listed reason', () => {
    const base = env(VALID.wearable);
    const reasons = new Set<string>(DEAD_LETTER_REASONS);
    for (let i = 0; i < 3000; i++) {
      const payload = Buffer.from(base);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++)
        payload[Math.floor(random() * payload.length)] = Math.floor(random() * 256);
      const result = validateTelemetry(payload, ctx());
      if (!result.ok) expect(reasons.has(result.reason)).toBe(true);
      else expect(telemetryEnvelopeSchema().safeParse(result.envelope).success).toBe(true);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('classifySeq', () => {
  it('tells new, duplicate and replay apart', () => {
    expect(classifySeq(undefined, 0)).toBe('new');
    expect(classifySeq(undefined, 1842)).toBe('new');
    expect(classifySeq(0, 1)).toBe('new');
    expect(classifySeq(5, 6)).toBe('new');
    expect(classifySeq(5, 1000)).toBe('new');
    expect(classifySeq(5, 5)).toBe('duplicate');
    expect(classifySeq(0, 0)).toBe('duplicate');
    expect(classifySeq(5, 4)).toBe('replay');
    expect(classifySeq(5, 0)).toBe('replay');
    expect(classifySeq(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).toBe('duplicate');
    expect(classifySeq(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1)).toBe('replay');
  });
});
