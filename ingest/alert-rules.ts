// Clinical alert rules. Each rule judges one reading type with numeric parameters (defaults
// below, each overridable per patient): when the condition is breached, when it counts as
// recovered (a clearing threshold past the raising one: hysteresis), how long a breach must last
// before the alert is raised, and how long recovery must hold before the alert is cleared.
import type { ReadingType } from '../core/domain.js';
import { distanceM, type GeoPoint } from '../core/geo.js';
import type { Reading } from './schemas.js';

export type AlertRuleId =
  | 'spo2_low'
  | 'heart_rate_high'
  | 'heart_rate_low'
  | 'blood_pressure_high'
  | 'glucose_low'
  | 'temperature_high'
  | 'geofence_exit';

export type AlertSeverity = 'high' | 'critical';

export type { GeoPoint };

export interface RuleContext {
  /** The patient's home point, for the geofence. */
  home?: GeoPoint | undefined;
}

/** Every rule has these two; the rest are its own. */
export type TimingParameters = {
  /** Seconds the breach must last before the alert is raised (0: at once). */
  sustainS: number;
  /** Seconds of recovered readings (at least two) before the alert is cleared. */
  clearHoldS: number;
};

export interface AlertRule {
  id: AlertRuleId;
  severity: AlertSeverity;
  readingType: ReadingType;
  defaults: Readonly<Record<string, number>> & TimingParameters;
  /** undefined: the reading says nothing about this rule (e.g. no home point yet). */
  breached(reading: Reading, p: Record<string, number>, ctx: RuleContext): boolean | undefined;
  recovered(reading: Reading, p: Record<string, number>, ctx: RuleContext): boolean;
}

const valueOf = (r: Reading): number => ('value' in r ? r.value : NaN);

/** A scalar rule: breached below/above `threshold`, recovered at/beyond `clearAt`. */
function scalar(
  id: AlertRuleId,
  severity: AlertSeverity,
  readingType: ReadingType,
  direction: 'below' | 'above' | 'atOrAbove',
  defaults: { threshold: number; clearAt: number } & TimingParameters,
): AlertRule {
  return {
    id,
    severity,
    readingType,
    defaults,
    breached: (r, p) => {
      const v = valueOf(r);
      if (direction === 'below') return v < p.threshold!;
      return direction === 'above' ? v > p.threshold! : v >= p.threshold!;
    },
    recovered: (r, p) => (direction === 'below' ? valueOf(r) >= p.clearAt! : valueOf(r) <= p.clearAt!),
  };
}

export const ALERT_RULES: readonly AlertRule[] = [
  scalar('spo2_low', 'critical', 'spo2', 'below', {
    threshold: 90,
    clearAt: 92,
    sustainS: 30,
    clearHoldS: 30,
  }),
  scalar('heart_rate_high', 'high', 'heart_rate', 'above', {
    threshold: 130,
    clearAt: 120,
    sustainS: 0,
    clearHoldS: 60,
  }),
  scalar('heart_rate_low', 'high', 'heart_rate', 'below', {
    threshold: 40,
    clearAt: 45,
    sustainS: 0,
    clearHoldS: 60,
  }),
  {
    id: 'blood_pressure_high',
    severity: 'critical',
    readingType: 'blood_pressure',
    defaults: {
      systolic: 180,
      diastolic: 120,
      clearSystolic: 170,
      clearDiastolic: 110,
      sustainS: 0,
      clearHoldS: 60,
    },
    breached: (r, p) => 'systolic' in r && (r.systolic >= p.systolic! || r.diastolic >= p.diastolic!),
    recovered: (r, p) => 'systolic' in r && r.systolic < p.clearSystolic! && r.diastolic < p.clearDiastolic!,
  },
  scalar('glucose_low', 'critical', 'blood_glucose', 'below', {
    threshold: 70,
    clearAt: 80,
    sustainS: 0,
    clearHoldS: 60,
  }),
  scalar('temperature_high', 'high', 'body_temperature', 'atOrAbove', {
    threshold: 39,
    clearAt: 38.5,
    sustainS: 0,
    clearHoldS: 120,
  }),
  {
    // Outside the radius by more than the fix's accuracy; back inside the clearing radius likewise.
    id: 'geofence_exit',
    severity: 'high',
    readingType: 'location',
    defaults: { radiusM: 500, clearRadiusM: 400, sustainS: 0, clearHoldS: 60 },
    breached: (r, p, ctx) =>
      'lat' in r && ctx.home ? distanceM(ctx.home, r) - (r.accuracyM ?? 0) > p.radiusM! : undefined,
    recovered: (r, p, ctx) =>
      'lat' in r && ctx.home !== undefined && distanceM(ctx.home, r) + (r.accuracyM ?? 0) <= p.clearRadiusM!,
  },
];

export function alertRule(id: string): AlertRule | undefined {
  return ALERT_RULES.find((r) => r.id === id);
}

export const RULES_BY_TYPE: ReadonlyMap<string, readonly AlertRule[]> = new Map(
  [...new Set(ALERT_RULES.map((r) => r.readingType))].map((t) => [
    t,
    ALERT_RULES.filter((r) => r.readingType === t),
  ]),
);
