import { describe, expect, it } from 'vitest';
import { MEASURING_KINDS as DEVICE_KINDS } from '../../../core/domain.js';
import type { DeviceKind } from '../../../core/domain.js';
import { EXPECTED_ALERTS } from '../../../simulators/scenarios.js';
import {
  createSignalModel,
  localDay,
  localHour,
  mealsOn,
  patientFor,
} from '../../../simulators/signals/index.js';
import type { EcgReading, Reading } from '../../../simulators/signals/index.js';
import { HOUR, MINUTE, T0, countRPeaks, flatten, mean, problems, run, scalarValues } from './support.js';

const MEASURING: DeviceKind[] = ['bp_monitor', 'glucometer', 'weight_scale', 'thermometer'];

describe('reproducibility', () => {
  it.each(DEVICE_KINDS)('%s: the same seed and device id give the same series', (kind) => {
    const series = (): Reading[][] =>
      run(
        createSignalModel(kind, { seed: 'run-1', deviceId: 'dev-1', measurementIntervalS: 60 }),
        T0,
        T0 + HOUR,
        1000,
      ).map((tick) => tick.readings);
    const a = series();
    expect(a.flat().length).toBeGreaterThan(0);
    expect(series()).toEqual(a);
  });

  it.each(DEVICE_KINDS)('%s: different devices give different series', (kind) => {
    const series = (deviceId: string): Reading[][] =>
      run(createSignalModel(kind, { seed: 7, deviceId, measurementIntervalS: 60 }), T0, T0 + HOUR, 1000).map(
        (tick) => tick.readings,
      );
    expect(series('dev-a')).not.toEqual(series('dev-b'));
  });

  it('does not depend on how often the model is called', () => {
    const atOneHz = createSignalModel('pulse_oximeter', { seed: 3, deviceId: 'ox-1' });
    const atSeventhHz = createSignalModel('pulse_oximeter', { seed: 3, deviceId: 'ox-1' });
    const fast = new Map(run(atOneHz, T0, T0 + 10 * MINUTE, 1000).map((tick) => [tick.t, tick.readings]));
    for (const tick of run(atSeventhHz, T0, T0 + 10 * MINUTE, 7000))
      expect(tick.readings).toEqual(fast.get(tick.t));
  });

  it('lets devices of one patient share a baseline', () => {
    const a = patientFor({ seed: 5, deviceId: 'w-1', patientId: 'p-1' });
    const b = patientFor({ seed: 5, deviceId: 'bp-1', patientId: 'p-1' });
    expect(a).toEqual(b);
    expect(patientFor({ seed: 5, deviceId: 'w-1' })).not.toEqual(patientFor({ seed: 5, deviceId: 'bp-1' }));
  });

  it('rejects bad options', () => {
    expect(() => createSignalModel('thermometer', { seed: 1, deviceId: '' })).toThrow(RangeError);
    expect(() =>
      createSignalModel('thermometer', { seed: 1, deviceId: 'x', measurementIntervalS: 0 }),
    ).toThrow(RangeError);
    expect(() => createSignalModel('wearable', { seed: 1, deviceId: 'x', ecgChunkS: 21 })).toThrow(
      RangeError,
    );
    expect(() => createSignalModel('toaster' as DeviceKind, { seed: 1, deviceId: 'x' })).toThrow(RangeError);
    expect(() => createSignalModel('wearable', { seed: 1, deviceId: 'x' }).next(Number.NaN)).toThrow(
      RangeError,
    );
  });
});

describe('48 hours of every kind', () => {
  const cases = DEVICE_KINDS.flatMap((kind) =>
    ['a', 'b'].flatMap((device) => [
      { kind, deviceId: `${kind}-${device}`, measurementIntervalS: undefined },
      ...(MEASURING.includes(kind)
        ? [{ kind, deviceId: `${kind}-${device}`, measurementIntervalS: 120 }]
        : []),
    ]),
  );

  it.each(cases)(
    '$deviceId (interval $measurementIntervalS): types, units and physical ranges; no natural alert',
    ({ kind, deviceId, measurementIntervalS }) => {
      const model = createSignalModel(kind, { seed: 2026, deviceId, measurementIntervalS });
      const step = kind === 'wearable' ? 10_000 : measurementIntervalS ? 10_000 : 1000;
      const readings = flatten(run(model, T0, T0 + 48 * HOUR, step));
      expect(readings.length).toBeGreaterThan(0);
      const found = new Set<string>();
      const types = new Set<string>();
      for (const { reading } of readings) {
        types.add(reading.type);
        for (const problem of problems(kind, reading)) found.add(problem);
        for (const rule of Object.values(EXPECTED_ALERTS)) {
          if (rule.crosses(reading, model.patient.home))
            found.add(`natural ${rule.id}: ${JSON.stringify(reading)}`);
        }
      }
      expect([...found]).toEqual([]);
      const expectedTypes: Record<Exclude<DeviceKind, 'gateway'>, string[]> = {
        wearable: ['body_temperature', 'ecg', 'heart_rate', 'location', 'spo2', 'steps'],
        pulse_oximeter: ['heart_rate', 'spo2'],
        bp_monitor: ['blood_pressure', 'heart_rate'],
        glucometer: ['blood_glucose'],
        weight_scale: ['body_weight'],
        thermometer: ['body_temperature'],
      };
      expect([...types].sort()).toEqual(expectedTypes[kind]);
    },
  );
});

describe('wearable and pulse oximeter', () => {
  it.each(['w-1', 'w-2', 'w-3'])('%s: heart rate is lower at night than during the day', (deviceId) => {
    const model = createSignalModel('wearable', { seed: 11, deviceId });
    const hr = scalarValues(run(model, T0, T0 + 48 * HOUR, 30_000), 'heart_rate');
    const night = hr.filter(({ t }) => localHour(model.patient, t) >= 1 && localHour(model.patient, t) < 5);
    const day = hr.filter(({ t }) => localHour(model.patient, t) >= 10 && localHour(model.patient, t) < 18);
    expect(mean(day.map((r) => r.value)) - mean(night.map((r) => r.value))).toBeGreaterThan(8);
  });

  it('steps rise with heart rate during activity bursts', () => {
    const model = createSignalModel('wearable', { seed: 12, deviceId: 'w-steps' });
    const ticks = run(model, T0, T0 + 48 * HOUR, 10_000);
    const walking: number[] = [];
    const resting: number[] = [];
    for (const { t, readings } of ticks) {
      const steps = readings.find((r) => r.type === 'steps');
      const hr = readings.find((r) => r.type === 'heart_rate');
      if (!steps || !hr || !('value' in steps) || !('value' in hr)) throw new Error('missing readings');
      if (model.body.activity(t) === 0) continue;
      if (steps.value >= 12) walking.push(hr.value);
      else if (steps.value <= 1) resting.push(hr.value);
    }
    expect(walking.length).toBeGreaterThan(20);
    expect(mean(walking) - mean(resting)).toBeGreaterThan(15);
    const total = scalarValues(ticks, 'steps').reduce((sum, r) => sum + r.value, 0);
    expect(total / 2).toBeGreaterThan(1500);
    expect(total / 2).toBeLessThan(25_000);
  });

  it('SpO2 stays 96-99 % most of the time, with brief dips that stay above 90 %', () => {
    const model = createSignalModel('pulse_oximeter', { seed: 13, deviceId: 'ox-dips' });
    const spo2 = scalarValues(run(model, T0, T0 + 48 * HOUR, 1000), 'spo2').map((r) => r.value);
    const typical = spo2.filter((v) => v >= 95 && v <= 100).length / spo2.length;
    expect(typical).toBeGreaterThan(0.95);
    const lowest = spo2.reduce((a, b) => Math.min(a, b));
    expect(lowest).toBeLessThan(95);
    expect(lowest).toBeGreaterThanOrEqual(90);
  });

  it('temperature follows a circadian rhythm within about 36.5-37.2 Cel', () => {
    const model = createSignalModel('wearable', { seed: 14, deviceId: 'w-temp' });
    const temps = scalarValues(run(model, T0, T0 + 48 * HOUR, 60_000), 'body_temperature');
    const at = (from: number, to: number): number =>
      mean(
        temps
          .filter(({ t }) => localHour(model.patient, t) >= from && localHour(model.patient, t) < to)
          .map((r) => r.value),
      );
    expect(at(15, 19) - at(2, 6)).toBeGreaterThan(0.3);
    const values = temps.map((r) => r.value);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(36.2);
    expect(Math.max(...values)).toBeLessThanOrEqual(37.4);
  });

  it('location stays within a few hundred metres of home', () => {
    const model = createSignalModel('wearable', { seed: 15, deviceId: 'w-gps' });
    const ticks = run(model, T0, T0 + 48 * HOUR, 30_000);
    const far = Math.max(
      ...flatten(ticks).flatMap(({ reading }) =>
        reading.type === 'location' ? [distance(model.patient.home, reading)] : [],
      ),
    );
    expect(far).toBeLessThan(400);
    expect(far).toBeGreaterThan(20);
  });
});

function distance(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const dy = (b.lat - a.lat) * 111_195;
  const dx = (b.lon - a.lon) * 111_195 * Math.cos((a.lat * Math.PI) / 180);
  return Math.hypot(dx, dy);
}

describe('ECG', () => {
  it('emits contiguous 1 s chunks of 250 samples at 1 Hz', () => {
    const model = createSignalModel('wearable', { seed: 21, deviceId: 'w-ecg' });
    const chunks = run(model, T0, T0 + 10_000, 1000).map(
      ({ readings }) => readings.find((r) => r.type === 'ecg') as EcgReading,
    );
    for (const [i, chunk] of chunks.entries()) {
      expect(chunk.sampleRateHz).toBe(250);
      expect(chunk.unit).toBe('mV');
      expect(chunk.samples).toHaveLength(250);
      expect(chunk.ts).toBe(T0 - 1000 + i * 1000);
    }
  });

  it.each([
    ['w-1', 3],
    ['w-2', 10],
    ['w-3', 15],
    ['w-4', 21],
    ['w-5', 27],
  ])('%s: R peaks come at the heart rate (hour %i)', (deviceId, hour) => {
    const model = createSignalModel('wearable', { seed: 22, deviceId, ecgChunkS: 20 });
    const t = T0 + hour * HOUR;
    const ecg = model.next(t).find((r) => r.type === 'ecg') as EcgReading;
    expect(ecg.samples).toHaveLength(20 * 250);
    let beats = 0;
    for (let s = t - 20_000; s < t; s += 100) beats += (model.body.heartRate(s) / 60) * 0.1;
    expect(Math.abs(countRPeaks(ecg.samples, 250) - beats)).toBeLessThanOrEqual(1.5);
  });

  it('supports another sample rate', () => {
    const model = createSignalModel('wearable', {
      seed: 23,
      deviceId: 'w-500',
      ecgSampleRateHz: 500,
      ecgChunkS: 2,
    });
    const ecg = model.next(T0).find((r) => r.type === 'ecg') as EcgReading;
    expect(ecg.sampleRateHz).toBe(500);
    expect(ecg.samples).toHaveLength(1000);
  });
});

describe('measuring devices', () => {
  it('blood pressure is taken morning and evening, with realistic variability', () => {
    const systolic: number[] = [];
    for (const deviceId of ['bp-1', 'bp-2', 'bp-3']) {
      const model = createSignalModel('bp_monitor', { seed: 31, deviceId });
      const ticks = run(model, T0, T0 + 96 * HOUR, 1000);
      const bp = flatten(ticks).filter(({ reading }) => reading.type === 'blood_pressure');
      expect(bp).toHaveLength(8);
      for (const { t } of bp) {
        const hour = localHour(model.patient, t);
        expect(hour < 9 || hour > 20).toBe(true);
      }
      const mine = bp.map(({ reading }) => (reading.type === 'blood_pressure' ? reading.systolic : 0));
      systolic.push(...mine.map((v) => v - mean(mine)));
      // Each blood pressure comes with the pulse at the same time.
      expect(flatten(ticks).filter(({ reading }) => reading.type === 'heart_rate')).toHaveLength(8);
    }
    const sd = Math.sqrt(mean(systolic.map((v) => v * v)));
    expect(sd).toBeGreaterThan(3);
    expect(sd).toBeLessThan(16);
  });

  it('glucose rises after each meal and decays again', () => {
    for (const deviceId of ['g-1', 'g-2', 'g-3']) {
      const model = createSignalModel('glucometer', { seed: 32, deviceId, measurementIntervalS: 300 });
      const glucose = scalarValues(run(model, T0, T0 + 48 * HOUR, 10_000), 'blood_glucose');
      const rises: number[] = [];
      for (let day = localDay(model.patient, T0); day <= localDay(model.patient, T0 + 48 * HOUR); day += 1) {
        for (const meal of mealsOn(model.patient, day)) {
          if (meal.t - 10 * MINUTE < T0 || meal.t + 5 * HOUR > T0 + 48 * HOUR) continue;
          const before = glucose
            .filter(({ t }) => t <= meal.t && t > meal.t - 10 * MINUTE)
            .map((r) => r.value);
          const after = glucose.filter(({ t }) => t > meal.t + 30 * MINUTE && t <= meal.t + 90 * MINUTE);
          const later = glucose.filter(({ t }) => t > meal.t + 4.5 * HOUR && t <= meal.t + 5 * HOUR);
          const peak = Math.max(...after.map((r) => r.value));
          rises.push(peak - mean(before));
          expect(peak - mean(before)).toBeGreaterThan(10);
          expect(mean(later.map((r) => r.value))).toBeLessThan(peak - 10);
        }
      }
      expect(rises.length).toBeGreaterThanOrEqual(5);
      expect(mean(rises)).toBeGreaterThan(20);
    }
  });

  it('the glucometer measures fasting, after meals and at bedtime; after meals is higher', () => {
    const model = createSignalModel('glucometer', { seed: 33, deviceId: 'g-daily' });
    const glucose = scalarValues(run(model, T0, T0 + 72 * HOUR, 1000), 'blood_glucose');
    expect(glucose.length).toBeGreaterThanOrEqual(3 * 5 - 1);
    const fasting = glucose.filter(({ t }) => localHour(model.patient, t) < model.patient.wakeHour + 0.45);
    const meals = [-1, 0, 1, 2, 3].flatMap((d) => mealsOn(model.patient, localDay(model.patient, T0) + d));
    const postMeal = glucose.filter(({ t }) =>
      meals.some((m) => t - m.t > 90 * MINUTE && t - m.t < 150 * MINUTE),
    );
    expect(fasting.length).toBeGreaterThanOrEqual(2);
    expect(postMeal.length).toBeGreaterThanOrEqual(6);
    expect(mean(postMeal.map((r) => r.value)) - mean(fasting.map((r) => r.value))).toBeGreaterThan(10);
  });

  it('the scale weighs once a day and weight drifts about 0.1 kg a day', () => {
    const model = createSignalModel('weight_scale', { seed: 34, deviceId: 'scale-1' });
    const weights = scalarValues(run(model, T0, T0 + 96 * HOUR, 5000), 'body_weight');
    expect(weights).toHaveLength(4);
    let steepest = 0;
    for (let t = T0; t < T0 + 60 * 24 * HOUR; t += 24 * HOUR) {
      steepest = Math.max(steepest, Math.abs(model.body.weight(t + 24 * HOUR) - model.body.weight(t)));
    }
    expect(steepest).toBeLessThan(0.3);
    expect(steepest).toBeGreaterThan(0.02);
  });

  it('the thermometer measures morning and evening', () => {
    const model = createSignalModel('thermometer', { seed: 35, deviceId: 'thermo-1' });
    const temps = scalarValues(run(model, T0, T0 + 48 * HOUR, 1000), 'body_temperature');
    expect(temps).toHaveLength(4);
  });

  it.each(MEASURING)('%s: demo mode measures within seconds and then at the interval', (kind) => {
    const model = createSignalModel(kind, { seed: 36, deviceId: `${kind}-demo`, measurementIntervalS: 10 });
    const ticks = run(model, T0, T0 + 60_000, 1000);
    const times = [...new Set(flatten(ticks).map(({ t }) => t))];
    expect(times[0]).toBeLessThanOrEqual(T0 + 5000);
    expect(times).toHaveLength(6);
    for (let i = 1; i < times.length; i += 1)
      expect((times[i] as number) - (times[i - 1] as number)).toBe(10_000);
  });

  it('a device that was off catches up on its measurements, each with its own ts', () => {
    const model = createSignalModel('thermometer', {
      seed: 37,
      deviceId: 'thermo-off',
      measurementIntervalS: 60,
    });
    model.next(T0);
    const backlog = model.next(T0 + 10 * MINUTE);
    expect(backlog).toHaveLength(10);
    expect(new Set(backlog.map((r) => r.ts)).size).toBe(10);
    expect(model.next(T0 + 5 * MINUTE)).toEqual([]);
  });
});
