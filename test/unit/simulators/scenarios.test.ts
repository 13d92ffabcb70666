import { describe, expect, it } from 'vitest';
import { MEASURING_KINDS as DEVICE_KINDS } from '../../../core/domain.js';
import {
  EXPECTED_ALERTS,
  GEOFENCE_RADIUS_M,
  SCENARIOS,
  SCENARIO_NAMES,
  applyScenario,
  scenariosFor,
} from '../../../simulators/scenarios.js';
import { createSignalModel, distanceM } from '../../../simulators/signals/index.js';
import type { EcgReading } from '../../../simulators/signals/index.js';
import { HOUR, MINUTE, T0, countRPeaks, flatten, problems, run } from './support.js';

const START = T0 + 9 * HOUR + 30_000;
const cases = SCENARIO_NAMES.flatMap((name) =>
  SCENARIOS[name].appliesTo.map((kind) => ({ name, kind, rule: SCENARIOS[name].expectedAlert })),
);

describe('scenario registry', () => {
  it('names, for each scenario, the kinds it applies to and the alert it must raise', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual([...SCENARIO_NAMES].sort());
    expect(SCENARIOS.desaturation.expectedAlert).toBe('spo2_low');
    expect(SCENARIOS.tachycardia.expectedAlert).toBe('heart_rate_high');
    expect(SCENARIOS.bradycardia.expectedAlert).toBe('heart_rate_low');
    expect(SCENARIOS.hypertensive_crisis.expectedAlert).toBe('blood_pressure_high');
    expect(SCENARIOS.hypoglycaemia.expectedAlert).toBe('glucose_low');
    expect(SCENARIOS.fever.expectedAlert).toBe('temperature_high');
    expect(SCENARIOS.wandering.expectedAlert).toBe('geofence_exit');
    expect(SCENARIOS.wandering.appliesTo).toEqual(['wearable']);
    // Every kind but the scale (no default alert rule watches weight) has a scenario.
    for (const kind of DEVICE_KINDS) {
      expect(scenariosFor(kind).length > 0).toBe(kind !== 'weight_scale');
    }
  });

  it('rejects an unknown scenario', () => {
    const model = createSignalModel('wearable', { seed: 1, deviceId: 'w' });
    expect(() => applyScenario(model, 'zombie')).toThrow(/unknown scenario/);
    expect(() => createSignalModel('wearable', { seed: 1, deviceId: 'w', scenario: 'zombie' })).toThrow(
      RangeError,
    );
  });
});

describe.each(cases)('$name on $kind', ({ name, kind, rule }) => {
  const alert = EXPECTED_ALERTS[rule];

  it.each(['d-1', 'd-2', 'd-3'])(
    `%s: crosses the ${rule} threshold within 10 s and stays across it`,
    (deviceId) => {
      const model = createSignalModel(kind, { seed: 77, deviceId, scenario: { name, startT: START } });
      expect(model.modifiers).toEqual([name]);
      const readings = flatten(run(model, START - 2 * MINUTE, START + 5 * MINUTE, 1000));
      for (const { reading } of readings) expect(problems(kind, reading)).toEqual([]);
      const driven = readings.filter(({ reading }) => SCENARIOS[name].drives.includes(reading.type));
      const home = model.patient.home;
      const before = driven.filter(({ t }) => t < START);
      const onset = driven.filter(({ t }) => t >= START && t <= START + 10_000);
      const after = driven.filter(({ t }) => t > START + 10_000);
      expect(before.some(({ reading }) => alert.crosses(reading, home))).toBe(false);
      expect(onset.some(({ reading }) => alert.crosses(reading, home))).toBe(true);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter(({ reading }) => !alert.crosses(reading, home))).toEqual([]);
      if (alert.sustainedS > 0) {
        // Sustained well past the hub's window: about a reading a second for 5 minutes.
        expect(after.length).toBeGreaterThan(4 * alert.sustainedS);
      }
    },
  );
});

describe('scenario values', () => {
  const valuesAfter = (kind: (typeof DEVICE_KINDS)[number], name: string, type: string): number[] => {
    const model = createSignalModel(kind, { seed: 78, deviceId: 'v', scenario: { name, startT: START } });
    return flatten(run(model, START, START + 10 * MINUTE, 1000)).flatMap(({ t, reading }) =>
      t > START + 10_000 && reading.type === type && 'value' in reading ? [reading.value] : [],
    );
  };
  const range = (values: number[]): [number, number] => [Math.min(...values), Math.max(...values)];

  it('desaturation holds SpO2 at about 82-86 % and raises the heart rate', () => {
    const [low, high] = range(valuesAfter('pulse_oximeter', 'desaturation', 'spo2'));
    expect(low).toBeGreaterThanOrEqual(81);
    expect(high).toBeLessThanOrEqual(87);
    const model = createSignalModel('pulse_oximeter', { seed: 78, deviceId: 'v' });
    const desaturated = createSignalModel('pulse_oximeter', {
      seed: 78,
      deviceId: 'v',
      scenario: { name: 'desaturation', startT: START },
    });
    expect(desaturated.body.heartRate(START + MINUTE)).toBeGreaterThan(
      model.body.heartRate(START + MINUTE) + 10,
    );
  });

  it('tachycardia is above 140 and bradycardia below 38 /min', () => {
    expect(range(valuesAfter('wearable', 'tachycardia', 'heart_rate'))[0]).toBeGreaterThan(140);
    expect(range(valuesAfter('pulse_oximeter', 'bradycardia', 'heart_rate'))[1]).toBeLessThan(40);
    expect(range(valuesAfter('bp_monitor', 'bradycardia', 'heart_rate'))[1]).toBeLessThan(40);
  });

  it('a hypertensive crisis measures systolic >= 185', () => {
    const model = createSignalModel('bp_monitor', {
      seed: 78,
      deviceId: 'v',
      scenario: { name: 'hypertensive_crisis', startT: START },
    });
    const bp = flatten(run(model, START, START + 10 * MINUTE, 1000)).flatMap(({ reading }) =>
      reading.type === 'blood_pressure' ? [reading] : [],
    );
    expect(bp.length).toBeGreaterThanOrEqual(10);
    for (const reading of bp) expect(reading.systolic >= 185 || reading.diastolic >= 122).toBe(true);
  });

  it('hypoglycaemia is about 50-60 mg/dL and fever at least 39.3 Cel', () => {
    const [low, high] = range(valuesAfter('glucometer', 'hypoglycaemia', 'blood_glucose'));
    expect(low).toBeGreaterThanOrEqual(47);
    expect(high).toBeLessThanOrEqual(62);
    expect(range(valuesAfter('thermometer', 'fever', 'body_temperature'))[0]).toBeGreaterThanOrEqual(39.3);
    expect(range(valuesAfter('wearable', 'fever', 'body_temperature'))[0]).toBeGreaterThanOrEqual(39.3);
  });

  it('wandering leaves the 1 km geofence and keeps walking away, steps and all', () => {
    const model = createSignalModel('wearable', { seed: 79, deviceId: 'w-wander', scenario: 'wandering' });
    const ticks = run(model, START, START + 15 * MINUTE, 1000);
    const fixes = flatten(ticks).flatMap(({ t, reading }) =>
      reading.type === 'location' ? [{ t, reading }] : [],
    );
    const firstOut = fixes.find(({ reading }) => distanceM(model.patient.home, reading) > GEOFENCE_RADIUS_M);
    expect(firstOut?.t).toBeLessThanOrEqual(START + 10_000);
    const last = fixes.at(-1);
    if (!last) throw new Error('no fixes');
    expect(distanceM(model.patient.home, last.reading)).toBeGreaterThan(1500);
    const steps = flatten(ticks)
      .filter(({ t, reading }) => reading.type === 'steps' && t > START + 10_000)
      .reduce((sum, { reading }) => sum + ('value' in reading ? reading.value : 0), 0);
    expect(steps).toBeGreaterThan(15 * 90);
  });

  it('the wearable ECG follows a tachycardia', () => {
    const model = createSignalModel('wearable', {
      seed: 80,
      deviceId: 'w-ecg',
      ecgChunkS: 20,
      scenario: { name: 'tachycardia', startT: START },
    });
    model.next(START);
    const ecg = model.next(START + 30_000).find((r) => r.type === 'ecg') as EcgReading;
    let beats = 0;
    for (let s = START + 10_000; s < START + 30_000; s += 100) beats += (model.body.heartRate(s) / 60) * 0.1;
    expect(beats).toBeGreaterThan(45);
    expect(Math.abs(countRPeaks(ecg.samples, 250) - beats)).toBeLessThanOrEqual(1.5);
  });
});

describe('applying scenarios', () => {
  it('starts at the next call when no start is given, e.g. mid-run', () => {
    const model = createSignalModel('pulse_oximeter', { seed: 81, deviceId: 'ox' });
    run(model, T0, T0 + MINUTE, 1000);
    SCENARIOS.tachycardia.apply(model);
    const hr = flatten(run(model, T0 + MINUTE, T0 + 2 * MINUTE, 1000)).flatMap(({ t, reading }) =>
      reading.type === 'heart_rate' ? [{ t, value: reading.value }] : [],
    );
    expect(hr[0]?.value).toBeLessThan(130);
    expect(hr.filter(({ t }) => t > T0 + MINUTE + 6000).every(({ value }) => value > 130)).toBe(true);
  });

  it('ends after its duration and the body recovers', () => {
    const model = createSignalModel('pulse_oximeter', {
      seed: 82,
      deviceId: 'ox',
      scenario: { name: 'desaturation', startT: START, durationS: 90 },
    });
    const spo2 = flatten(run(model, START, START + 5 * MINUTE, 1000)).flatMap(({ t, reading }) =>
      reading.type === 'spo2' ? [{ t, value: reading.value }] : [],
    );
    const during = spo2.filter(({ t }) => t > START + 10_000 && t <= START + 90_000);
    const afterwards = spo2.filter(({ t }) => t > START + 100_000);
    expect(during.every(({ value }) => value < 90)).toBe(true);
    expect(afterwards.every(({ value }) => value >= 90)).toBe(true);
  });

  it('leaves a device of another kind as it was', () => {
    const plain = createSignalModel('weight_scale', { seed: 83, deviceId: 's', measurementIntervalS: 30 });
    const withScenario = createSignalModel('weight_scale', {
      seed: 83,
      deviceId: 's',
      measurementIntervalS: 30,
      scenario: 'desaturation',
    });
    expect(withScenario.modifiers).toEqual([]);
    expect(run(withScenario, T0, T0 + 5 * MINUTE, 1000)).toEqual(run(plain, T0, T0 + 5 * MINUTE, 1000));
  });

  it('is reproducible', () => {
    const series = (): unknown =>
      run(
        createSignalModel('wearable', {
          seed: 84,
          deviceId: 'w',
          scenario: { name: 'fever', startT: START },
        }),
        START,
        START + 2 * MINUTE,
        1000,
      );
    expect(series()).toEqual(series());
  });
});
