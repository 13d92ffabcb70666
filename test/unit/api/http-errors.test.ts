// One error mapping: codes to statuses, the SPEC §6 body, and nothing internal leaking out.
import { describe, expect, it } from 'vitest';
import { VitalGateError } from '../../../core/errors.js';
import { checkPasswordPolicy } from '../../../dashboard-api/auth/password-policy.js';
import { statusForCode, toErrorResponse } from '../../../dashboard-api/http-errors.js';

describe('toErrorResponse', () => {
  it('maps codes to statuses', () => {
    expect(statusForCode('PATIENT_NOT_ACCESSIBLE')).toBe(403);
    expect(statusForCode('SESSION_EXPIRED')).toBe(401);
    expect(statusForCode('ACCOUNT_LOCKED')).toBe(423);
    expect(statusForCode('CSR_KEY_TOO_WEAK')).toBe(400);
    expect(statusForCode('SOMETHING_NEW')).toBe(500);
  });

  it('never passes on an internal message, a stack or unsafe details', () => {
    const internal = toErrorResponse(new Error('SQLITE_ERROR near "Grace Hopper"'));
    expect(internal).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL_ERROR', message: 'internal error' } },
    });
    const influx = toErrorResponse(
      new VitalGateError('INFLUX_QUERY_FAILED', 'InfluxDB query error: bad s=abc'),
    );
    expect(influx).toEqual({
      status: 503,
      body: { error: { code: 'TELEMETRY_UNAVAILABLE', message: expect.not.stringContaining('abc') } },
    });
    const detailed = toErrorResponse(
      new VitalGateError('VALIDATION_FAILED', 'bad', { fields: ['query.from'], value: 'Grace Hopper <b>' }),
    );
    expect(detailed.body.error.details).toEqual({ fields: ['query.from'] });
  });
});

describe('password policy', () => {
  it('refuses short, breached, repetitive and name-based passwords', () => {
    const rule = (pw: string) => {
      try {
        checkPasswordPolicy(pw, 'dr.alice');
        return 'ok';
      } catch (err) {
        return (err as VitalGateError).details?.rule;
      }
    };
    expect(rule('short')).toBe('length');
    expect(rule('Password1234')).toBe('breached');
    expect(rule('abababababab')).toBe('repetitive');
    expect(rule('my dr.alice password')).toBe('contains_username');
    expect(rule('correct horse battery staple')).toBe('ok');
  });
});
