import { describe, expect, it } from 'vitest';
import { READING_DEFINITIONS, READING_TYPES } from '../../../core/domain.js';
import {
  DEFAULT_MAX_READINGS,
  IMPOSSIBLE_VALUE_MESSAGE,
  READING_SCHEMAS,
  UNIT_MISMATCH_MESSAGE,
  commandAck,
  readingSchema,
  statusMessage,
  telemetryEnvelopeSchema,
} from '../../../ingest/schemas.js';

// The example envelope of SPEC §4 (illustrative: no single device kind sends all of these types).
const SPEC_EXAMPLE = {
  v: 1,
  seq: 1842,
  ts: 1795386343000,
  readings: [
    { type: 'heart_rate', value: 72, unit: '/min' },
    { type: 'spo2', value: 97, unit: '%' },
    { type: 'blood_pressure', systolic: 121, diastolic: 79, unit: 'mm[Hg]', ts: 1795386340000 },
    { type: 'ecg', sampleRateHz: 250, samples: [0.12, 0.15], unit: 'mV' },
    { type: 'location', lat: 52.37, lon: 4.89, accuracyM: 12 },
  ],
};

const messages = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues.map((i) => i.message) ?? [];

describe('telemetry schemas', () => {
  it('parse the SPEC §4 example envelope as it is', () => {
    expect(telemetryEnvelopeSchema().parse(SPEC_EXAMPLE)).toEqual(SPEC_EXAMPLE);
  });

  it('have a schema for every reading type, tagged with that type', () => {
    expect(Object.keys(READING_SCHEMAS).sort()).toEqual([...READING_TYPES].sort());
    for (const type of READING_TYPES) expect(READING_SCHEMAS[type].shape.type.value).toBe(type);
  });

  it('require the UCUM unit of READING_DEFINITIONS', () => {
    for (const type of READING_TYPES) {
      const def = READING_DEFINITIONS[type];
      if (def.shape === 'location') continue;
      const shape = READING_SCHEMAS[type].shape;
      expect('unit' in shape ? shape.unit.value : undefined, type).toBe(def.unit);
    }
    const wrong = readingSchema.safeParse({ type: 'spo2', value: 97, unit: 'percent' });
    expect(messages(wrong)).toEqual([UNIT_MISMATCH_MESSAGE]);
  });

  it('tag physically impossible values, and only those, with their own message', () => {
    expect(messages(readingSchema.safeParse({ type: 'heart_rate', value: 400, unit: '/min' }))).toEqual([
      IMPOSSIBLE_VALUE_MESSAGE,
    ]);
    expect(
      messages(readingSchema.safeParse({ type: 'heart_rate', value: '72', unit: '/min' })),
    ).not.toContain(IMPOSSIBLE_VALUE_MESSAGE);
    // Alarming is not impossible.
    expect(readingSchema.safeParse({ type: 'spo2', value: 80, unit: '%' }).success).toBe(true);
  });

  it('discriminate on type', () => {
    expect(readingSchema.safeParse({ type: 'weather', value: 1, unit: 'Cel' }).success).toBe(false);
    const bp = readingSchema.parse({ type: 'blood_pressure', systolic: 120, diastolic: 80, unit: 'mm[Hg]' });
    expect(bp.type === 'blood_pressure' && bp.systolic).toBe(120);
  });

  it('bound the readings per envelope (default and configured)', () => {
    const reading = { type: 'spo2', value: 97, unit: '%' };
    const with_ = (n: number) => ({ ...SPEC_EXAMPLE, readings: Array.from({ length: n }, () => reading) });
    expect(telemetryEnvelopeSchema().safeParse(with_(DEFAULT_MAX_READINGS)).success).toBe(true);
    expect(telemetryEnvelopeSchema().safeParse(with_(DEFAULT_MAX_READINGS + 1)).success).toBe(false);
    expect(telemetryEnvelopeSchema(2).safeParse(with_(3)).success).toBe(false);
    expect(telemetryEnvelopeSchema(2).safeParse(with_(0)).success).toBe(false);
  });

  it('refuse non-finite numbers and unknown fields', () => {
    const schema = telemetryEnvelopeSchema();
    expect(schema.safeParse({ ...SPEC_EXAMPLE, seq: Infinity }).success).toBe(false);
    expect(schema.safeParse({ ...SPEC_EXAMPLE, ts: NaN }).success).toBe(false);
    expect(schema.safeParse({ ...SPEC_EXAMPLE, extra: true }).success).toBe(false);
    expect(
      schema.safeParse(
        JSON.parse(
          `{"v":1,"seq":1,"ts":1,"readings":[{"type":"spo2","value":97,"unit":"%"}],"__proto__":{}}`,
        ),
      ).success,
    ).toBe(false);
  });
});

describe('statusMessage', () => {
  const status = { v: 1, firmware: '1.4.2', battery: 0.81, uptimeS: 3600 };

  it('parses the SPEC §4 example', () => {
    expect(statusMessage.parse(status)).toEqual(status);
    expect(statusMessage.parse({ ...status, battery: 0, uptimeS: 0 })).toMatchObject({ battery: 0 });
    expect(statusMessage.parse({ ...status, battery: 1 })).toMatchObject({ battery: 1 });
  });

  it.each([
    ['battery above 1', { ...status, battery: 1.2 }],
    ['battery as a percentage string', { ...status, battery: '81%' }],
    ['a negative battery', { ...status, battery: -0.1 }],
    ['no battery', { v: 1, firmware: '1.4.2', uptimeS: 3600 }],
    ['no uptime', { v: 1, firmware: '1.4.2', battery: 0.5 }],
    ['a fractional uptime', { ...status, uptimeS: 1.5 }],
    ['a negative uptime', { ...status, uptimeS: -1 }],
    ['firmware with spaces', { ...status, firmware: '1.4 beta' }],
    ['an empty firmware', { ...status, firmware: '' }],
    ['v 2', { ...status, v: 2 }],
    ['an unknown field', { ...status, serial: 'X' }],
  ])('refuses %s', (_name, value) => {
    expect(statusMessage.safeParse(value).success).toBe(false);
  });
});

describe('commandAck', () => {
  it('parses done and rejected, with or without detail', () => {
    expect(commandAck.parse({ v: 1, id: 'cmd-1', status: 'done' })).toEqual({
      v: 1,
      id: 'cmd-1',
      status: 'done',
    });
    expect(commandAck.parse({ v: 1, id: 'cmd-1', status: 'rejected', detail: 'expired' })).toMatchObject({
      detail: 'expired',
    });
  });

  it.each([
    ['another status', { v: 1, id: 'cmd-1', status: 'ok' }],
    ['an empty id', { v: 1, id: '', status: 'done' }],
    ['a numeric id', { v: 1, id: 7, status: 'done' }],
    ['a long detail', { v: 1, id: 'cmd-1', status: 'rejected', detail: 'x'.repeat(501) }],
    ['an unknown field', { v: 1, id: 'cmd-1', status: 'done', at: 1 }],
    ['no v', { id: 'cmd-1', status: 'done' }],
  ])('refuses %s', (_name, value) => {
    expect(commandAck.safeParse(value).success).toBe(false);
  });
});
