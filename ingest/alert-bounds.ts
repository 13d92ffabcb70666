// What a rule's parameters may be set to: a plausible range for each (an SpO2 threshold of
// 120 % is refused), and for each raising threshold the side its clearing threshold must be on
// (hysteresis: an alert clears only past the value that raised it, never before it). The checks
// run on a rule's full effective parameter set, so a change that is fine alone but inconsistent
// with the rest (a new threshold above the clearing one) is refused too.
import { VitalGateError } from '../core/errors.js';
import type { AlertRuleId } from './alert-rules.js';

interface Range {
  min: number;
  max: number;
  unit: string;
}

interface RuleBounds {
  ranges: Readonly<Record<string, Range>>;
  /** The clearing parameter lies at or `side` of the raising one. */
  hysteresis: readonly { raise: string; clear: string; side: 'above' | 'below' }[];
}

const TIMING: Readonly<Record<string, Range>> = {
  sustainS: { min: 0, max: 3_600, unit: 's' },
  clearHoldS: { min: 0, max: 3_600, unit: 's' },
};

const pair = (min: number, max: number, unit: string) => ({
  threshold: { min, max, unit },
  clearAt: { min, max, unit },
});

export const ALERT_BOUNDS: Readonly<Record<AlertRuleId, RuleBounds>> = {
  spo2_low: {
    ranges: { ...pair(50, 100, '%'), ...TIMING },
    hysteresis: [{ raise: 'threshold', clear: 'clearAt', side: 'above' }],
  },
  heart_rate_high: {
    ranges: { ...pair(60, 250, '/min'), ...TIMING },
    hysteresis: [{ raise: 'threshold', clear: 'clearAt', side: 'below' }],
  },
  heart_rate_low: {
    ranges: { ...pair(20, 120, '/min'), ...TIMING },
    hysteresis: [{ raise: 'threshold', clear: 'clearAt', side: 'above' }],
  },
  blood_pressure_high: {
    ranges: {
      systolic: { min: 90, max: 260, unit: 'mm[Hg]' },
      clearSystolic: { min: 90, max: 260, unit: 'mm[Hg]' },
      diastolic: { min: 50, max: 160, unit: 'mm[Hg]' },
      clearDiastolic: { min: 50, max: 160, unit: 'mm[Hg]' },
      ...TIMING,
    },
    hysteresis: [
      { raise: 'systolic', clear: 'clearSystolic', side: 'below' },
      { raise: 'diastolic', clear: 'clearDiastolic', side: 'below' },
    ],
  },
  glucose_low: {
    ranges: { ...pair(30, 200, 'mg/dL'), ...TIMING },
    hysteresis: [{ raise: 'threshold', clear: 'clearAt', side: 'above' }],
  },
  temperature_high: {
    ranges: { ...pair(36, 43, 'Cel'), ...TIMING },
    hysteresis: [{ raise: 'threshold', clear: 'clearAt', side: 'below' }],
  },
  geofence_exit: {
    ranges: {
      radiusM: { min: 50, max: 100_000, unit: 'm' },
      clearRadiusM: { min: 10, max: 100_000, unit: 'm' },
      ...TIMING,
    },
    hysteresis: [{ raise: 'radiusM', clear: 'clearRadiusM', side: 'below' }],
  },
};

function invalid(field: string, message: string, details: Record<string, unknown> = {}): VitalGateError {
  return new VitalGateError('ALERT_SETTING_INVALID', message, { field, ...details });
}

/** The range of one parameter; refuses an unknown rule or parameter, naming the field. */
export function parameterRange(rule: string, parameter: string): Range {
  const bounds = ALERT_BOUNDS[rule as AlertRuleId] as RuleBounds | undefined;
  if (!bounds) throw invalid(rule, `no alert rule ${rule}`, { rules: Object.keys(ALERT_BOUNDS) });
  const range = bounds.ranges[parameter];
  if (!range)
    throw invalid(
      `${rule}.${parameter}`,
      `${rule}.${parameter}: rule ${rule} has no parameter ${parameter}`,
      {
        parameters: Object.keys(bounds.ranges),
      },
    );
  return range;
}

/** Refuses the first parameter of a rule's effective set that is out of range or on the wrong side. */
export function checkRuleParameters(rule: string, parameters: Readonly<Record<string, number>>): void {
  for (const [parameter, value] of Object.entries(parameters)) {
    const range = parameterRange(rule, parameter);
    const field = `${rule}.${parameter}`;
    if (!Number.isFinite(value) || value < range.min || value > range.max)
      throw invalid(field, `${field} must be between ${range.min} and ${range.max} ${range.unit}`, {
        min: range.min,
        max: range.max,
        unit: range.unit,
      });
  }
  for (const h of ALERT_BOUNDS[rule as AlertRuleId].hysteresis) {
    const raise = parameters[h.raise];
    const clear = parameters[h.clear];
    if (raise === undefined || clear === undefined) continue;
    if (h.side === 'above' ? clear < raise : clear > raise)
      throw invalid(
        `${rule}.${h.clear}`,
        `${rule}.${h.clear} (${clear}) must be at or ${h.side} ${rule}.${h.raise} (${raise}): an alert clears only past the value that raised it`,
      );
  }
}
