// Clinical scenarios: modifiers that take over part of a patient's body from a start time,
// quickly (about 5 s of simulated time) and for as long as they last, so that a short run
// shows the hub raising its alert. For devices that measure only now and then, a scenario
// also forces a measurement 6 s after its start and then every minute.
import type { DeviceKind, ReadingType } from '../core/domain.js';
import { distanceM, offsetMeters } from './signals/patient.js';
import { smoothNoise, stream, uniformAt } from './signals/random.js';
import type {
  ActiveModifier,
  Body,
  BodyModifier,
  GeoPoint,
  Reading,
  ScenarioRequest,
  SignalModel,
} from './signals/types.js';

export const SCENARIO_NAMES = [
  'desaturation',
  'tachycardia',
  'bradycardia',
  'hypertensive_crisis',
  'hypoglycaemia',
  'fever',
  'wandering',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(value: string): value is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(value);
}

/** The hub's default alert rules, as the simulators expect them to fire. */
export type AlertRuleId =
  | 'spo2_low'
  | 'heart_rate_high'
  | 'heart_rate_low'
  | 'blood_pressure_high'
  | 'glucose_low'
  | 'temperature_high'
  | 'geofence_exit';

export interface ExpectedAlert {
  readonly id: AlertRuleId;
  readonly description: string;
  /** How long the condition must hold before the hub alerts, seconds (0: at once). */
  readonly sustainedS: number;
  /** Whether one reading is on the alarming side of the rule's threshold. */
  crosses(reading: Reading, home: GeoPoint): boolean;
}

/** Radius of the home geofence the wandering scenario leaves, metres. */
export const GEOFENCE_RADIUS_M = 1000;

export const EXPECTED_ALERTS: Readonly<Record<AlertRuleId, ExpectedAlert>> = {
  spo2_low: {
    id: 'spo2_low',
    description: 'SpO2 < 90 % sustained 30 s',
    sustainedS: 30,
    crosses: (r) => r.type === 'spo2' && r.value < 90,
  },
  heart_rate_high: {
    id: 'heart_rate_high',
    description: 'heart rate > 130 /min',
    sustainedS: 0,
    crosses: (r) => r.type === 'heart_rate' && r.value > 130,
  },
  heart_rate_low: {
    id: 'heart_rate_low',
    description: 'heart rate < 40 /min',
    sustainedS: 0,
    crosses: (r) => r.type === 'heart_rate' && r.value < 40,
  },
  blood_pressure_high: {
    id: 'blood_pressure_high',
    description: 'systolic >= 180 or diastolic >= 120 mm[Hg]',
    sustainedS: 0,
    crosses: (r) => r.type === 'blood_pressure' && (r.systolic >= 180 || r.diastolic >= 120),
  },
  glucose_low: {
    id: 'glucose_low',
    description: 'blood glucose < 70 mg/dL',
    sustainedS: 0,
    crosses: (r) => r.type === 'blood_glucose' && r.value < 70,
  },
  temperature_high: {
    id: 'temperature_high',
    description: 'body temperature >= 39 Cel',
    sustainedS: 0,
    crosses: (r) => r.type === 'body_temperature' && r.value >= 39,
  },
  geofence_exit: {
    id: 'geofence_exit',
    description: `location more than ${GEOFENCE_RADIUS_M} m from home`,
    sustainedS: 0,
    crosses: (r, home) => r.type === 'location' && distanceM(home, r) > GEOFENCE_RADIUS_M,
  },
};

export interface ScenarioOptions {
  /** Epoch ms; defaults to the model's next `next(t)` call. */
  readonly startT?: number;
  /** Defaults to for ever. */
  readonly durationS?: number;
}

export interface Scenario {
  readonly name: ScenarioName;
  readonly description: string;
  readonly appliesTo: readonly DeviceKind[];
  readonly expectedAlert: AlertRuleId;
  /** The reading types the scenario drives across the alert threshold. */
  readonly drives: readonly ReadingType[];
  modifier(options?: ScenarioOptions): BodyModifier;
  /** Applies the scenario to `model` (in place) if it applies to the model's kind. */
  apply(model: SignalModel, startT?: number, options?: { durationS?: number }): SignalModel;
}

/** Onset: the scenario has fully taken over this long after its start. */
export const ONSET_MS = 5000;
/** Measuring devices are made to measure this long after the start, then every minute. */
export const FORCED_FIRST_MS = 6000;
export const FORCED_EVERY_MS = 60_000;

const clamp = (value: number, min: number, max: number): number => Math.max(min, Math.min(max, value));
const smoothstep = (x: number): number => {
  const c = clamp(x, 0, 1);
  return c * c * (3 - 2 * c);
};
const blend = (from: number, to: number, weight: number): number => from + (to - from) * weight;

/** Weight of the scenario over time: 0 before, ramps to 1 over the onset, back after the end. */
type Weight = (t: number) => number;

/** A target value wobbling around `mean` within [min, max]. */
type Target = (t: number) => number;

interface ScenarioSpec {
  readonly description: string;
  readonly appliesTo: readonly DeviceKind[];
  readonly expectedAlert: AlertRuleId;
  readonly drives: readonly ReadingType[];
  readonly forces: readonly ReadingType[];
  wrap(body: Body, weight: Weight, noise: (t: number, periodMs: number) => number, startT: number): Body;
}

/** Heart rate raised by `delta` but kept below the tachycardia threshold. */
function raised(body: Body, weight: Weight, delta: number): (t: number) => number {
  return (t) => {
    const natural = body.heartRate(t);
    return Math.max(natural, Math.min(natural + delta * weight(t), 122));
  };
}

function toward(natural: (t: number) => number, target: Target, weight: Weight): (t: number) => number {
  return (t) => {
    const w = weight(t);
    return w === 0 ? natural(t) : blend(natural(t), target(t), w);
  };
}

const SPECS: Record<ScenarioName, ScenarioSpec> = {
  desaturation: {
    description: 'SpO2 falls to 82-86 % and stays there; heart rate rises',
    appliesTo: ['wearable', 'pulse_oximeter'],
    expectedAlert: 'spo2_low',
    drives: ['spo2'],
    forces: ['spo2'],
    wrap: (body, weight, noise) => ({
      ...body,
      spo2: toward(body.spo2, (t) => clamp(84 + 1.2 * noise(t, 8000), 82.5, 85.5), weight),
      heartRate: raised(body, weight, 20),
    }),
  },
  tachycardia: {
    description: 'heart rate about 150 /min (above 140) at rest',
    appliesTo: ['wearable', 'pulse_oximeter', 'bp_monitor'],
    expectedAlert: 'heart_rate_high',
    drives: ['heart_rate'],
    forces: ['heart_rate'],
    wrap: (body, weight, noise) => ({
      ...body,
      heartRate: toward(body.heartRate, (t) => clamp(150 + 4 * noise(t, 10_000), 143, 162), weight),
    }),
  },
  bradycardia: {
    description: 'heart rate about 35 /min (below 38)',
    appliesTo: ['wearable', 'pulse_oximeter', 'bp_monitor'],
    expectedAlert: 'heart_rate_low',
    drives: ['heart_rate'],
    forces: ['heart_rate'],
    wrap: (body, weight, noise) => ({
      ...body,
      heartRate: toward(body.heartRate, (t) => clamp(34.5 + 1.2 * noise(t, 10_000), 31, 36), weight),
    }),
  },
  hypertensive_crisis: {
    description: 'blood pressure about 198/124 mm[Hg] (systolic >= 185)',
    appliesTo: ['bp_monitor'],
    expectedAlert: 'blood_pressure_high',
    drives: ['blood_pressure'],
    forces: ['blood_pressure'],
    wrap: (body, weight, noise) => ({
      ...body,
      bloodPressure: (t) => {
        const natural = body.bloodPressure(t);
        const w = weight(t);
        if (w === 0) return natural;
        return {
          systolic: blend(natural.systolic, clamp(198 + 5 * noise(t, 60_000), 192, 212), w),
          diastolic: blend(natural.diastolic, clamp(125 + 3 * noise(t + 7e6, 60_000), 123, 132), w),
        };
      },
      heartRate: raised(body, weight, 12),
    }),
  },
  hypoglycaemia: {
    description: 'blood glucose about 55 mg/dL (50-60)',
    appliesTo: ['glucometer'],
    expectedAlert: 'glucose_low',
    drives: ['blood_glucose'],
    forces: ['blood_glucose'],
    wrap: (body, weight, noise) => ({
      ...body,
      glucose: toward(body.glucose, (t) => clamp(55 + 2 * noise(t, 60_000), 51, 58), weight),
      heartRate: raised(body, weight, 15),
    }),
  },
  fever: {
    description: 'body temperature about 39.7 Cel (at least 39.3)',
    appliesTo: ['wearable', 'thermometer'],
    expectedAlert: 'temperature_high',
    drives: ['body_temperature'],
    forces: ['body_temperature'],
    wrap: (body, weight, noise) => ({
      ...body,
      bodyTemperature: toward(
        body.bodyTemperature,
        (t) => clamp(39.7 + 0.15 * noise(t, 60_000), 39.5, 40),
        weight,
      ),
      heartRate: raised(body, weight, 15),
    }),
  },
  wandering: {
    description: 'the wearer is found more than 1 km from home, walking further away',
    appliesTo: ['wearable'],
    expectedAlert: 'geofence_exit',
    drives: ['location'],
    forces: ['location'],
    wrap: (body, weight, noise, startT) => {
      const home = body.patient.home;
      const bearing = 2 * Math.PI * uniformAt(body.patient.seed, stream('wandering'), startT);
      return {
        ...body,
        activity: (t) => Math.max(body.activity(t), 0.6 * weight(t)),
        stepRate: (t) => Math.max(body.stepRate(t), 105 * weight(t)),
        heartRate: raised(body, weight, 15),
        location: (t) => {
          const w = weight(t);
          if (w === 0) return body.location(t);
          // As if the wearable regains a GPS fix after the wearer walked off unnoticed:
          // about 1.15 km out at once, then walking on at 1.3 m/s.
          const distance = (1150 + (1.3 * Math.max(0, t - startT)) / 1000) * w;
          const centre = offsetMeters(home, bearing + 0.25 * noise(t, 60_000), distance);
          const north = 4 * noise(t + 1e7, 20_000);
          const east = 4 * noise(t + 2e7, 20_000);
          const fix = offsetMeters(centre, Math.atan2(east, north), Math.hypot(north, east));
          return { lat: fix.lat, lon: fix.lon, accuracyM: 8 + 2 * Math.abs(noise(t, 30_000)) };
        },
      };
    },
  },
};

function weightFor(startT: number, endT: number): Weight {
  return (t) => {
    if (t <= startT) return 0;
    if (t < endT) return smoothstep((t - startT) / ONSET_MS);
    return Math.min(smoothstep((endT - startT) / ONSET_MS), 1 - smoothstep((t - endT) / ONSET_MS));
  };
}

function buildModifier(
  name: ScenarioName,
  spec: ScenarioSpec,
  startT: number,
  durationS?: number,
): ActiveModifier {
  const endT = durationS === undefined ? Infinity : startT + durationS * 1000;
  const weight = weightFor(startT, endT);
  const streamId = stream(`scenario:${name}`);
  return {
    name,
    startT,
    forces: spec.forces,
    wrap: (body) => {
      const noise = (t: number, periodMs: number): number =>
        smoothNoise(body.patient.seed, streamId, t, periodMs);
      return spec.wrap(body, weight, noise, startT);
    },
    forcedTimes: (fromExclusive, toInclusive) => {
      const first = startT + FORCED_FIRST_MS;
      const times: number[] = [];
      let k = Math.max(0, Math.floor((fromExclusive - first) / FORCED_EVERY_MS));
      for (; ; k += 1) {
        const t = first + k * FORCED_EVERY_MS;
        if (t > toInclusive || t >= endT) break;
        if (t > fromExclusive) times.push(t);
      }
      return times;
    },
  };
}

function scenario(name: ScenarioName): Scenario {
  const spec = SPECS[name];
  const modifier = (options: ScenarioOptions = {}): BodyModifier => {
    const { startT, durationS } = options;
    if (startT !== undefined && !Number.isFinite(startT)) throw new RangeError('startT must be epoch ms');
    if (durationS !== undefined && !(durationS > 0)) throw new RangeError('durationS must be positive');
    return {
      name,
      ...(startT === undefined ? {} : { startT }),
      ...(durationS === undefined ? {} : { durationS }),
      forces: spec.forces,
      build: (start) => buildModifier(name, spec, start, durationS),
    };
  };
  return {
    name,
    description: spec.description,
    appliesTo: spec.appliesTo,
    expectedAlert: spec.expectedAlert,
    drives: spec.drives,
    modifier,
    apply: (model, startT, options = {}) =>
      spec.appliesTo.includes(model.kind)
        ? model.modify(modifier({ ...options, ...(startT === undefined ? {} : { startT }) }))
        : model,
  };
}

export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = Object.fromEntries(
  SCENARIO_NAMES.map((name) => [name, scenario(name)]),
) as Record<ScenarioName, Scenario>;

/** The scenarios that apply to a device kind. */
export function scenariosFor(kind: DeviceKind): Scenario[] {
  return SCENARIO_NAMES.map((name) => SCENARIOS[name]).filter((s) => s.appliesTo.includes(kind));
}

/** Applies a scenario by name or request; a scenario for another kind leaves the model as is. */
export function applyScenario(model: SignalModel, request: string | ScenarioRequest): SignalModel {
  const { name, startT, durationS } = typeof request === 'string' ? { name: request } : request;
  if (!isScenarioName(name)) {
    throw new RangeError(`unknown scenario "${name}" (one of ${SCENARIO_NAMES.join(', ')})`);
  }
  return SCENARIOS[name].apply(model, startT, durationS === undefined ? {} : { durationS });
}
