// Clinical alert rules, evaluated on plaintext readings at intake, before they are sealed.
// Each rule has a raise condition (optionally sustained for a while) and a clear condition
// with hysteresis, so a value flapping around the threshold raises one alert, not a storm.
import { EventEmitter } from 'node:events';
import type { AlertRecord, AlertRepository } from '../core/store/ingest-state.js';
import type { Reading } from './schemas.js';
import { distanceM } from '../core/geo.js';

export type AlertRuleId =
  | 'spo2_low'
  | 'heart_rate_high'
  | 'heart_rate_low'
  | 'blood_pressure_high'
  | 'glucose_low'
  | 'temperature_high'
  | 'geofence_exit';

interface AlertRule {
  id: AlertRuleId;
  severity: 'high' | 'critical';
  /** The number a reading is judged by, or undefined when the reading does not concern the rule. */
  measure(reading: Reading, ctx: { home?: { lat: number; lon: number } }): number | undefined;
  /** Default threshold; a per-patient override replaces it. */
  threshold: number;
  direction: 'above' | 'below';
  /** How far back past the threshold the value must go to clear (hysteresis). */
  clearMargin: number;
  /** How long the condition must hold before the alert is raised. */
  sustainMs: number;
}

export const ALERT_RULES: readonly AlertRule[] = [
  {
    id: 'spo2_low',
    severity: 'critical',
    measure: (r) => (r.type === 'spo2' && 'value' in r ? r.value : undefined),
    threshold: 90,
    direction: 'below',
    clearMargin: 2,
    sustainMs: 30_000,
  },
  {
    id: 'heart_rate_high',
    severity: 'high',
    measure: (r) => (r.type === 'heart_rate' && 'value' in r ? r.value : undefined),
    threshold: 130,
    direction: 'above',
    clearMargin: 10,
    sustainMs: 0,
  },
  {
    id: 'heart_rate_low',
    severity: 'high',
    measure: (r) => (r.type === 'heart_rate' && 'value' in r ? r.value : undefined),
    threshold: 40,
    direction: 'below',
    clearMargin: 5,
    sustainMs: 0,
  },
  {
    id: 'blood_pressure_high',
    severity: 'critical',
    // Systolic ≥ 180 or diastolic ≥ 120: judged on the larger of the two ratios to its limit.
    measure: (r) => ('systolic' in r ? Math.max(r.systolic / 180, r.diastolic / 120) * 100 : undefined),
    threshold: 100,
    direction: 'above',
    clearMargin: 5,
    sustainMs: 0,
  },
  {
    id: 'glucose_low',
    severity: 'critical',
    measure: (r) => (r.type === 'blood_glucose' && 'value' in r ? r.value : undefined),
    threshold: 70,
    direction: 'below',
    clearMargin: 10,
    sustainMs: 0,
  },
  {
    id: 'temperature_high',
    severity: 'high',
    measure: (r) => (r.type === 'body_temperature' && 'value' in r ? r.value : undefined),
    threshold: 39,
    direction: 'above',
    clearMargin: 0.5,
    sustainMs: 0,
  },
  {
    id: 'geofence_exit',
    severity: 'high',
    measure: (r, ctx) => ('lat' in r && ctx.home ? distanceM(ctx.home, r) : undefined),
    threshold: 1_000,
    direction: 'above',
    clearMargin: 200,
    sustainMs: 0,
  },
];

interface RuleState {
  since?: number;
  alertId?: number;
}

export interface AlertEvent {
  type: 'raised' | 'cleared';
  alert: AlertRecord;
}

/** In-process bus of alerts and accepted readings, for the API's live stream. Never leaves the process. */
export class AlertBus extends EventEmitter<{
  alert: [AlertEvent];
  reading: [{ patientId: string | null; deviceId: string; ts: number; reading: Reading }];
}> {}

export class AlertEvaluator {
  private readonly states = new Map<string, RuleState>();
  /** Home point per device (first location seen), for the geofence rule. */
  private readonly homes = new Map<string, { lat: number; lon: number }>();

  constructor(
    private readonly alerts: AlertRepository,
    private readonly bus: AlertBus,
  ) {}

  evaluate(target: { deviceId: string; patientId: string | null }, reading: Reading, ts: number): void {
    if ('lat' in reading && !this.homes.has(target.deviceId)) {
      this.homes.set(target.deviceId, { lat: reading.lat, lon: reading.lon });
      return;
    }
    const home = this.homes.get(target.deviceId);
    for (const rule of ALERT_RULES) {
      const value = rule.measure(reading, home ? { home } : {});
      if (value === undefined) continue;
      const override = target.patientId
        ? this.alerts.thresholdOverride(target.patientId, rule.id)
        : undefined;
      const threshold = override ?? rule.threshold;
      const key = `${target.patientId ?? target.deviceId}|${rule.id}`;
      const state = this.states.get(key) ?? {};
      const breached = rule.direction === 'below' ? value < threshold : value >= threshold;
      const cleared =
        rule.direction === 'below'
          ? value >= threshold + rule.clearMargin
          : value < threshold - rule.clearMargin;
      if (state.alertId === undefined) {
        if (breached) {
          state.since ??= ts;
          if (ts - state.since >= rule.sustainMs) {
            const alert = this.alerts.raise({
              patientId: target.patientId,
              deviceId: target.deviceId,
              rule: rule.id,
              severity: rule.severity,
            });
            state.alertId = alert.id;
            this.bus.emit('alert', { type: 'raised', alert });
          }
        } else {
          delete state.since;
        }
      } else if (cleared) {
        this.alerts.clear(state.alertId);
        const alert = this.alerts.get(state.alertId)!;
        delete state.alertId;
        delete state.since;
        this.bus.emit('alert', { type: 'cleared', alert });
      }
      this.states.set(key, state);
    }
  }
}
