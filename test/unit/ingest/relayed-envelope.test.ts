// A gateway's envelope: identity against the binding, clock correction, manual entries, and every
// refusal of the device-side contract applied the same way.
import { describe, expect, it } from 'vitest';
import { validateRelayed } from '../../../ingest/relayed-envelope.js';
import type { ValidationContext } from '../../../ingest/validation.js';

const NOW = 1_800_000_000_000;
const ctx = (kind: ValidationContext['kind'] = 'bp_monitor'): ValidationContext => ({
  kind,
  now: NOW,
  maxPayloadBytes: 65_536,
  maxReadings: 10,
  maxClockSkewMs: 300_000,
  maxAgeMs: 30 * 86_400_000,
});
const via = { gatewayId: 'gw-1', systemId: 'AABBCCDDEEFF0011', serial: 'S-1' };
const bp = (extra: Record<string, unknown> = {}) => ({
  mdc: 150020,
  systolic: 120,
  diastolic: 80,
  unit: 'mm[Hg]',
  ...extra,
});
const message = (extra: Record<string, unknown> = {}, readings: unknown[] = [bp()]) =>
  Buffer.from(
    JSON.stringify({
      v: 1,
      seq: 3,
      ts: NOW,
      device: { systemId: 'aabbccddeeff0011', serial: 'S-1' },
      modality: 'sensed',
      receivedAt: NOW - 5_000,
      readings,
      ...extra,
    }),
  );

describe('validateRelayed', () => {
  it('corrects a drifting device clock by the coincident time reference', () => {
    const clock = { device: NOW - 600_000, gateway: NOW };
    const result = validateRelayed(message({ clock }, [bp({ ts: NOW - 660_000 })]), ctx(), via);
    expect(result).toMatchObject({ ok: true, driftMs: -600_000, identity: { systemId: 'AABBCCDDEEFF0011' } });
    if (!result.ok) return;
    expect(result.envelope.modality).toBe('sensed');
    expect(result.envelope.readings[0]).toMatchObject({
      type: 'blood_pressure',
      ts: NOW - 60_000,
      source: { gateway: 'gw-1', modality: 'sensed', receivedAt: NOW - 5_000, deviceTime: NOW - 660_000 },
    });
  });

  it('a reading without its own time was taken when the gateway received it; manual times are not moved', () => {
    const untimed = validateRelayed(message({}, [bp()]), ctx(), via);
    expect(untimed.ok && untimed.envelope.readings[0]!.ts).toBe(NOW - 5_000);
    const clock = { device: NOW - 600_000, gateway: NOW };
    const manual = validateRelayed(
      message({ modality: 'manual', clock }, [bp({ ts: NOW - 1_000 })]),
      ctx(),
      via,
    );
    expect(manual.ok && manual.envelope.readings[0]!.ts).toBe(NOW - 1_000);
  });

  it('refuses a device identity or serial that is not the binding’s', () => {
    expect(
      validateRelayed(message({ device: { systemId: '0000000000000001', serial: 'S-1' } }), ctx(), via),
    ).toMatchObject({
      ok: false,
      reason: 'DEVICE_IDENTITY_MISMATCH',
    });
    expect(validateRelayed(message({ device: { systemId: 'AABBCCDDEEFF0011' } }), ctx(), via)).toMatchObject({
      ok: false,
      reason: 'DEVICE_IDENTITY_MISMATCH',
    });
    // Nothing pinned yet: any well-formed identity passes, and is returned to be pinned.
    const open = { gatewayId: 'gw-1', systemId: null, serial: null };
    expect(validateRelayed(message({ device: { address: '01:02:03:04:05:06' } }), ctx(), open)).toMatchObject(
      {
        ok: true,
        identity: { systemId: '01:02:03:04:05:06', serial: null },
      },
    );
  });

  it('applies every refusal of the device-side contract the same way', () => {
    const cases: [Buffer, string][] = [
      [Buffer.from('{'), 'MALFORMED_JSON'],
      [message({ device: { manufacturer: 'Acme' } }), 'SCHEMA_INVALID'],
      [message({ modality: 'guessed' }), 'SCHEMA_INVALID'],
      [message({}, [bp({ unit: '%' })]), 'UNIT_MISMATCH'],
      [message({}, [{ mdc: 999, value: 1, unit: '%' }]), 'UNKNOWN_READING_TYPE'],
      [message({}, [{ mdc: 188736, value: 80, unit: 'kg' }]), 'TYPE_NOT_ALLOWED_FOR_KIND'],
      [message({}, [bp({ systolic: 900 })]), 'VALUE_OUT_OF_RANGE'],
      [message({}, [bp({ ts: NOW + 3_600_000 })]), 'CLOCK_SKEW'],
      // A device clock corrected into the future is skew too.
      [message({ clock: { device: NOW - 3_600_000, gateway: NOW } }, [bp({ ts: NOW })]), 'CLOCK_SKEW'],
      [message({}, [bp({ ts: NOW - 40 * 86_400_000 })]), 'TIMESTAMP_TOO_OLD'],
      [
        message(
          {},
          Array.from({ length: 11 }, () => bp()),
        ),
        'TOO_MANY_READINGS',
      ],
    ];
    for (const [payload, reason] of cases)
      expect(validateRelayed(payload, ctx(), via), reason).toMatchObject({ ok: false, reason });
  });
});

describe('a relayed reading sealed compactly', () => {
  it('opens back to the same values and source, for a scalar and a compound reading', async () => {
    const { compactValues, valuesOf } = await import('../../../ingest/sealing.js');
    const source = {
      gateway: 'gw-1',
      modality: 'manual' as const,
      receivedAt: NOW,
      deviceTime: NOW - 9,
      mdc: 150020,
    };
    const bp = { systolic: 120, diastolic: 80, unit: 'mm[Hg]', source };
    const weight = {
      value: 80.5,
      unit: 'kg',
      source: { gateway: 'gw-1', modality: 'sensed' as const, receivedAt: NOW },
    };
    for (const [type, values] of [
      ['blood_pressure', bp],
      ['body_weight', weight],
    ] as const) {
      const sealed = JSON.parse(JSON.stringify(compactValues(type, values))) as unknown;
      expect(Array.isArray(sealed)).toBe(true);
      expect(valuesOf(type, sealed)).toEqual(values);
    }
    expect(() => valuesOf('body_weight', [80.5, 7])).toThrow(
      expect.objectContaining({ code: 'DECRYPTION_FAILED' }),
    );
  });
});
