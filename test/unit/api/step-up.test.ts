import { describe, expect, it } from 'vitest';
import { isVitalGateError } from '../../../core/errors.js';
import { hasFreshStepUp, requireStepUp } from '../../../dashboard-api/auth/step-up.js';
import { toErrorResponse } from '../../../dashboard-api/http-errors.js';

const T = Date.UTC(2026, 11, 6, 6, 0, 0);

function refusal(session: Parameters<typeof requireStepUp>[0], now: number) {
  try {
    requireStepUp(session, now, 'break_glass');
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('requireStepUp', () => {
  it('passes within the max age and refuses at it', () => {
    const session = { steppedUpAt: T, stepUpMaxAgeSeconds: 300 };
    expect(refusal(session, T)).toBeUndefined();
    expect(refusal(session, T + 299_999)).toBeUndefined();
    expect(hasFreshStepUp(session, T + 300_000)).toBe(false);
    expect(isVitalGateError(refusal(session, T + 300_000), 'STEP_UP_REQUIRED')).toBe(true);
  });

  it('refuses a session that never stepped up, and one stamped in the future', () => {
    expect(isVitalGateError(refusal({ steppedUpAt: null }, T), 'STEP_UP_REQUIRED')).toBe(true);
    expect(hasFreshStepUp({ steppedUpAt: T + 1000 }, T)).toBe(false);
  });

  it('defaults to 300 s and answers 401 with the reason', () => {
    expect(hasFreshStepUp({ steppedUpAt: T }, T + 299_000)).toBe(true);
    expect(hasFreshStepUp({ steppedUpAt: T }, T + 301_000)).toBe(false);
    const { status, body } = toErrorResponse(refusal({ steppedUpAt: null }, T));
    expect(status).toBe(401);
    expect(body.error.code).toBe('STEP_UP_REQUIRED');
    expect(body.error.details).toEqual({ reason: 'break_glass', maxAgeSeconds: 300 });
  });
});
