import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../core/store/database.js';
import { AlertRepository } from '../../../core/store/ingest-state.js';
import { AlertBus, AlertEvaluator, type AlertEvent } from '../../../ingest/alerts.js';
import type { Reading } from '../../../ingest/schemas.js';

function setup() {
  const alerts = new AlertRepository(openDatabase(':memory:'));
  const bus = new AlertBus();
  const events: AlertEvent[] = [];
  bus.on('alert', (e) => events.push(e));
  return { alerts, events, evaluator: new AlertEvaluator(alerts, bus) };
}
const target = { deviceId: 'ox-1', patientId: 'pat_test123456' };
const spo2 = (value: number): Reading => ({ type: 'spo2', value, unit: '%' });

describe('clinical alerts', () => {
  it('a desaturation sustained for 30 s raises exactly one alert, cleared on recovery', () => {
    const { evaluator, events, alerts } = setup();
    const t0 = 1_800_000_000_000;
    for (let s = 0; s < 20; s++) evaluator.evaluate(target, spo2(97), t0 + s * 1000);
    for (let s = 20; s < 120; s++) evaluator.evaluate(target, spo2(85), t0 + s * 1000);
    expect(events.map((e) => e.type)).toEqual(['raised']);
    expect(events[0]!.alert).toMatchObject({
      rule: 'spo2_low',
      severity: 'critical',
      patientId: target.patientId,
    });
    expect(events[0]!.alert.raisedAt).toBeGreaterThan(0);
    for (let s = 120; s < 130; s++) evaluator.evaluate(target, spo2(96), t0 + s * 1000);
    expect(events.map((e) => e.type)).toEqual(['raised', 'cleared']);
    expect(alerts.list({ patientId: target.patientId })).toHaveLength(1);
  });

  it('a short dip under 30 s raises nothing', () => {
    const { evaluator, events } = setup();
    const t0 = 1_800_000_000_000;
    for (let s = 0; s < 20; s++) evaluator.evaluate(target, spo2(s < 10 ? 86 : 97), t0 + s * 1000);
    expect(events).toEqual([]);
  });

  it('a value flapping around the threshold does not storm', () => {
    const { evaluator, events } = setup();
    const t0 = 1_800_000_000_000;
    for (let s = 0; s < 600; s++)
      evaluator.evaluate(
        target,
        { type: 'heart_rate', value: s % 2 ? 128 : 133, unit: '/min' },
        t0 + s * 1000,
      );
    expect(events.filter((e) => e.type === 'raised')).toHaveLength(1);
  });

  it('covers heart rate low, blood pressure, glucose, temperature and the geofence', () => {
    const { evaluator, events } = setup();
    const t = 1_800_000_000_000;
    evaluator.evaluate(target, { type: 'heart_rate', value: 35, unit: '/min' }, t);
    evaluator.evaluate(target, { type: 'blood_pressure', systolic: 150, diastolic: 121, unit: 'mm[Hg]' }, t);
    evaluator.evaluate(target, { type: 'blood_glucose', value: 55, unit: 'mg/dL' }, t);
    evaluator.evaluate(target, { type: 'body_temperature', value: 39.4, unit: 'Cel' }, t);
    evaluator.evaluate(target, { type: 'location', lat: 52.37, lon: 4.89 }, t);
    evaluator.evaluate(target, { type: 'location', lat: 52.38, lon: 4.89 }, t + 1000);
    expect(events.map((e) => e.alert.rule).sort()).toEqual(
      ['blood_pressure_high', 'geofence_exit', 'glucose_low', 'heart_rate_low', 'temperature_high'].sort(),
    );
  });

  it('uses a per-patient threshold override', () => {
    const { evaluator, events, alerts } = setup();
    alerts.setThresholdOverride(target.patientId, 'heart_rate_high', 150);
    evaluator.evaluate(target, { type: 'heart_rate', value: 140, unit: '/min' }, 1);
    expect(events).toEqual([]);
    evaluator.evaluate(target, { type: 'heart_rate', value: 155, unit: '/min' }, 2);
    expect(events).toHaveLength(1);
  });
});
