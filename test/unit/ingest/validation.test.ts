import { describe, expect, it } from 'vitest';
import { DEVICE_KINDS } from '../../../core/domain.js';
import { classifySeq, validateTelemetry, type ValidationContext } from '../../../ingest/validation.js';

const now = 1_800_000_000_000;
const ctx = (kind: ValidationContext['kind'] = 'wearable'): ValidationContext => ({
  kind,
  now,
  maxPayloadBytes: 65_536,
  maxReadings: 500,
  maxClockSkewMs: 300_000,
  maxAgeMs: 30 * 86_400_000,
});
const env = (readings: unknown[], extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ v: 1, seq: 7, ts: now, readings, ...extra }));

const VALID: Record<(typeof DEVICE_KINDS)[number], unknown[]> = {
  wearable: [
    { type: 'heart_rate', value: 72, unit: '/min' },
    { type: 'spo2', value: 97, unit: '%' },
    { type: 'ecg', sampleRateHz: 250, samples: [0.12, 0.15], unit: 'mV' },
    { type: 'location', lat: 52.37, lon: 4.89, accuracyM: 12 },
    { type: 'steps', value: 1200, unit: '{steps}' },
  ],
  pulse_oximeter: [{ type: 'spo2', value: 85, unit: '%' }],
  bp_monitor: [{ type: 'blood_pressure', systolic: 121, diastolic: 79, unit: 'mm[Hg]', ts: now - 3000 }],
  glucometer: [{ type: 'blood_glucose', value: 95, unit: 'mg/dL' }],
  weight_scale: [{ type: 'body_weight', value: 71.4, unit: 'kg' }],
  thermometer: [{ type: 'body_temperature', value: 36.8, unit: 'Cel' }],
};

describe('validateTelemetry', () => {
  it('accepts a valid envelope for every kind (alarming but possible values included)', () => {
    for (const kind of DEVICE_KINDS) {
      const result = validateTelemetry(env(VALID[kind]), ctx(kind));
      expect(result, kind).toMatchObject({ ok: true, envelope: { seq: 7 } });
    }
  });

  const cases: [string, Buffer, string, ValidationContext['kind']?][] = [
    ['garbage bytes', Buffer.from([0xc3, 0x28, 0xff]), 'MALFORMED_JSON'],
    ['not JSON', Buffer.from('hello'), 'MALFORMED_JSON'],
    ['string value', env([{ type: 'heart_rate', value: '72', unit: '/min' }]), 'SCHEMA_INVALID'],
    [
      'readings as object',
      Buffer.from(JSON.stringify({ v: 1, seq: 1, ts: now, readings: {} })),
      'SCHEMA_INVALID',
    ],
    [
      'Infinity via 1e999',
      Buffer.from(
        `{"v":1,"seq":1,"ts":${now},"readings":[{"type":"heart_rate","value":1e999,"unit":"/min"}]}`,
      ),
      'SCHEMA_INVALID',
    ],
    [
      'negative seq',
      Buffer.from(JSON.stringify({ v: 1, seq: -1, ts: now, readings: [VALID.glucometer[0]] })),
      'SCHEMA_INVALID',
    ],
    [
      'float seq',
      Buffer.from(JSON.stringify({ v: 1, seq: 1.5, ts: now, readings: [VALID.glucometer[0]] })),
      'SCHEMA_INVALID',
    ],
    ['unknown field', env(VALID.glucometer, { extra: 1 }), 'SCHEMA_INVALID'],
    [
      'unknown reading field',
      env([{ type: 'heart_rate', value: 72, unit: '/min', note: 'x' }]),
      'SCHEMA_INVALID',
    ],
    ['unknown type', env([{ type: 'mood', value: 3, unit: '1' }]), 'UNKNOWN_READING_TYPE'],
    [
      'type not for kind',
      env([{ type: 'blood_glucose', value: 90, unit: 'mg/dL' }]),
      'TYPE_NOT_ALLOWED_FOR_KIND',
      'pulse_oximeter',
    ],
    [
      'wrong unit',
      env([{ type: 'body_temperature', value: 98.6, unit: '[degF]' }]),
      'UNIT_MISMATCH',
      'thermometer',
    ],
    ['HR 0', env([{ type: 'heart_rate', value: 0, unit: '/min' }]), 'VALUE_OUT_OF_RANGE'],
    ['SpO2 120', env([{ type: 'spo2', value: 120, unit: '%' }]), 'VALUE_OUT_OF_RANGE'],
    [
      'systolic 500',
      env([{ type: 'blood_pressure', systolic: 500, diastolic: 80, unit: 'mm[Hg]' }]),
      'VALUE_OUT_OF_RANGE',
      'bp_monitor',
    ],
    [
      'future envelope',
      Buffer.from(JSON.stringify({ v: 1, seq: 1, ts: now + 600_000, readings: VALID.glucometer })),
      'CLOCK_SKEW',
      'glucometer',
    ],
    [
      'future reading',
      env([{ type: 'blood_glucose', value: 90, unit: 'mg/dL', ts: now + 600_000 }]),
      'CLOCK_SKEW',
      'glucometer',
    ],
    [
      'too old',
      env([{ type: 'blood_glucose', value: 90, unit: 'mg/dL', ts: now - 40 * 86_400_000 }]),
      'TIMESTAMP_TOO_OLD',
      'glucometer',
    ],
    ['oversized', env(VALID.glucometer, { pad: 'x'.repeat(70_000) }), 'PAYLOAD_TOO_LARGE', 'glucometer'],
    [
      'too many readings',
      env(Array.from({ length: 501 }, () => VALID.glucometer[0])),
      'TOO_MANY_READINGS',
      'glucometer',
    ],
  ];
  for (const [name, payload, reason, kind] of cases) {
    it(`refuses ${name} with ${reason}`, () => {
      const result = validateTelemetry(payload, ctx(kind ?? 'wearable'));
      expect(result).toMatchObject({ ok: false, reason });
      if (!result.ok) expect(result.detail).not.toMatch(/\b(72|120|98\.6)\b/);
    });
  }

  it('accepts a timestamp within the clock skew allowance', () => {
    expect(
      validateTelemetry(
        env([{ type: 'blood_glucose', value: 90, unit: 'mg/dL', ts: now + 200_000 }]),
        ctx('glucometer'),
      ).ok,
    ).toBe(true);
  });

  it('handles __proto__ keys safely: nothing is polluted and the key does not survive', () => {
    const payload = `{"v":1,"seq":1,"ts":${now},"readings":[{"type":"spo2","value":97,"unit":"%","__proto__":{"polluted":true}}],"__proto__":{"polluted":true}}`;
    const result = validateTelemetry(Buffer.from(payload), ctx());
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (result.ok) {
      expect(Object.prototype.hasOwnProperty.call(result.envelope, '__proto__')).toBe(false);
      expect(Object.prototype.hasOwnProperty.call(result.envelope.readings[0], '__proto__')).toBe(false);
      expect((result.envelope.readings[0] as unknown as Record<string, unknown>).polluted).toBeUndefined();
    }
  });
});

describe('classifySeq', () => {
  it('tells new, duplicate and replay apart', () => {
    expect(classifySeq(undefined, 0)).toBe('new');
    expect(classifySeq(5, 6)).toBe('new');
    expect(classifySeq(5, 5)).toBe('duplicate');
    expect(classifySeq(5, 4)).toBe('replay');
  });
});
