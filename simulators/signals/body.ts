// The natural physiology of a simulated patient, as pure functions of simulated time:
// circadian heart rate with activity bursts, SpO2 with brief dips, core temperature, blood
// pressure with a morning surge, glucose that rises after meals, slow weight drift, and a
// location that stays around home apart from short walks. Natural values stay clear of the
// hub's default alert thresholds; scenarios (simulators/scenarios.ts) cross them.
import {
  DAY_MS,
  MINUTE_MS,
  atLocal,
  localDay,
  localHour,
  localMs,
  offsetMeters,
  sleepLevel,
} from './patient.js';
import { normalAt, smoothNoise, stream, uniformAt } from './random.js';
import type { Body, BloodPressure, Fix, PatientBaseline } from './types.js';

const S = {
  activity: stream('activity'),
  ambient: stream('ambient'),
  hrSlow: stream('hr-slow'),
  hrFast: stream('hr-fast'),
  spo2: stream('spo2'),
  spo2Dip: stream('spo2-dip'),
  temperature: stream('temperature'),
  bpSys: stream('bp-systolic'),
  bpDia: stream('bp-diastolic'),
  glucose: stream('glucose'),
  meals: stream('meals'),
  weight: stream('weight'),
  gpsNorth: stream('gps-north'),
  gpsEast: stream('gps-east'),
  gpsAccuracy: stream('gps-accuracy'),
  walk: stream('walk'),
} as const;

const clamp = (value: number, min: number, max: number): number => Math.max(min, Math.min(max, value));
const smoothstep = (x: number): number => {
  const c = clamp(x, 0, 1);
  return c * c * (3 - 2 * c);
};

/** Keeps a value below `ceiling`, bending smoothly from `knee` on. */
function softCap(value: number, knee: number, ceiling: number): number {
  if (value <= knee) return value;
  const room = ceiling - knee;
  return knee + room * Math.tanh((value - knee) / room);
}

function softFloor(value: number, knee: number, floor: number): number {
  return -softCap(-value, -knee, -floor);
}

// ---- activity --------------------------------------------------------------------------

const SLOT_MS = 15 * MINUTE_MS;
const RAMP_MS = 45_000;

interface Burst {
  readonly start: number;
  readonly end: number;
  readonly intensity: number;
  readonly outdoor: boolean;
  readonly bearing: number;
  readonly radiusM: number;
}

/** The activity burst (a walk, chores, stairs) in the 15-minute slot holding `t`, if any. */
function burstAt(patient: PatientBaseline, t: number): Burst | undefined {
  const slot = Math.floor(localMs(patient, t) / SLOT_MS);
  const slotStart = t - (localMs(patient, t) - slot * SLOT_MS);
  if (sleepLevel(patient, slotStart) > 0 || sleepLevel(patient, slotStart + SLOT_MS) > 0) return undefined;
  const hour = localHour(patient, slotStart);
  const busy = (hour >= 9 && hour < 11.5) || (hour >= 16 && hour < 19) ? 1.5 : 1;
  const u = (sub: number): number => uniformAt(patient.seed, S.activity, slot, sub);
  if (u(0) >= patient.activeness * busy) return undefined;
  const length = (4 + 8 * u(1)) * MINUTE_MS;
  const start = slotStart + u(2) * (SLOT_MS - length);
  const intensity = 0.4 + 0.6 * u(3);
  return {
    start,
    end: start + length,
    intensity,
    outdoor: intensity > 0.55 && u(4) < 0.6,
    bearing: 2 * Math.PI * u(5),
    radiusM: 100 + 200 * u(6),
  };
}

function burstEnvelope(burst: Burst, t: number): number {
  if (t <= burst.start || t >= burst.end) return 0;
  return Math.min(smoothstep((t - burst.start) / RAMP_MS), smoothstep((burst.end - t) / RAMP_MS));
}

function activity(patient: PatientBaseline, t: number): number {
  const awake = 1 - sleepLevel(patient, t);
  if (awake <= 0) return 0;
  const ambient = clamp(0.05 + 0.02 * smoothNoise(patient.seed, S.ambient, t, 5 * MINUTE_MS), 0.01, 0.1);
  const burst = burstAt(patient, t);
  const level = burst ? Math.max(ambient, burst.intensity * burstEnvelope(burst, t)) : ambient;
  return awake * level;
}

// ---- cardiorespiratory -----------------------------------------------------------------

function heartRate(patient: PatientBaseline, t: number, act: number): number {
  const h = localHour(patient, t);
  const circadian = -patient.circadianHeartRate * Math.cos((2 * Math.PI * (h - 4)) / 24);
  const sleep = -6 * sleepLevel(patient, t);
  const noise =
    2.5 * smoothNoise(patient.seed, S.hrSlow, t, 30_000) + 1 * smoothNoise(patient.seed, S.hrFast, t, 4_000);
  const raw = patient.restingHeartRate + circadian + sleep + 45 * act + noise;
  return softFloor(softCap(raw, 110, 124), 50, 43);
}

/** Brief desaturations (20-minute slots, more often asleep) that stay above 91 %. */
function spo2Dip(patient: PatientBaseline, t: number, base: number): number {
  const slotMs = 20 * MINUTE_MS;
  const slot = Math.floor(t / slotMs);
  const u = (sub: number): number => uniformAt(patient.seed, S.spo2Dip, slot, sub);
  const chance = sleepLevel(patient, slot * slotMs) > 0.5 ? 0.2 : 0.06;
  if (u(0) >= chance) return 0;
  const length = (15 + 30 * u(1)) * 1000;
  const start = slot * slotMs + u(2) * (slotMs - length);
  if (t <= start || t >= start + length) return 0;
  const depth = Math.min(2.5 + 3.5 * u(3), base - 91.8);
  return depth * Math.sin((Math.PI * (t - start)) / length) ** 2;
}

function spo2(patient: PatientBaseline, t: number, act: number): number {
  const base =
    patient.spo2 -
    0.6 * sleepLevel(patient, t) -
    0.3 * act +
    0.4 * smoothNoise(patient.seed, S.spo2, t, 60_000);
  return clamp(base - spo2Dip(patient, t, base), 91.8, 99.6);
}

function bodyTemperature(patient: PatientBaseline, t: number, act: number): number {
  const h = localHour(patient, t);
  const circadian = -0.28 * Math.cos((2 * Math.PI * (h - 4.5)) / 24);
  const noise = 0.05 * smoothNoise(patient.seed, S.temperature, t, 10 * MINUTE_MS);
  return clamp(patient.temperature + circadian + 0.2 * act + noise, 36.4, 37.25);
}

function bloodPressure(patient: PatientBaseline, t: number, act: number): BloodPressure {
  const sinceWake = (localHour(patient, t) - patient.wakeHour + 24) % 24;
  const surge = sinceWake < 3 ? Math.sin((Math.PI * sinceWake) / 3) : 0;
  const sleep = sleepLevel(patient, t);
  // Visit-to-visit variability about ±8/±5 mm[Hg], correlated between the two.
  const a = smoothNoise(patient.seed, S.bpSys, t, 3 * MINUTE_MS);
  const b = smoothNoise(patient.seed, S.bpDia, t, 3 * MINUTE_MS);
  const systolic = clamp(patient.systolic + 7 * surge - 8 * sleep + 12 * act + 7.5 * a, 92, 166);
  const diastolic = clamp(
    patient.diastolic + 4 * surge - 5 * sleep + 4 * act + 4.5 * (0.55 * a + 0.83 * b),
    55,
    Math.min(104, systolic - 25),
  );
  return { systolic, diastolic };
}

// ---- metabolism ------------------------------------------------------------------------

export interface Meal {
  /** Epoch ms the meal starts. */
  readonly t: number;
  readonly name: 'breakfast' | 'lunch' | 'dinner';
  /** Relative size, 1 = an average meal. */
  readonly size: number;
}

/** The patient's meals on a local day: breakfast after waking, lunch and dinner. */
export function mealsOn(patient: PatientBaseline, day: number): Meal[] {
  const jitter = (sub: number, sdMin: number): number =>
    (normalAt(patient.seed, S.meals, day, sub) * sdMin) / 60;
  const size = (sub: number): number => 0.75 + 0.5 * uniformAt(patient.seed, S.meals, day, 10 + sub);
  return [
    { name: 'breakfast', t: atLocal(patient, day, patient.wakeHour + 0.5 + jitter(3, 10)), size: size(0) },
    { name: 'lunch', t: atLocal(patient, day, 12.5 + jitter(4, 20)), size: size(1) },
    { name: 'dinner', t: atLocal(patient, day, 18.75 + jitter(5, 30)), size: size(2) },
  ];
}

const MEAL_PEAK_MS = 45 * MINUTE_MS;

/** Glucose rise after a meal, peaking at 1 after 45 minutes, mostly gone after 4 hours. */
function mealCurve(sinceMs: number): number {
  if (sinceMs <= 0) return 0;
  const x = sinceMs / MEAL_PEAK_MS;
  return x * Math.exp(1 - x);
}

function glucose(patient: PatientBaseline, t: number, act: number): number {
  const day = localDay(patient, t);
  let rise = 0;
  for (const d of [day - 1, day]) {
    for (const meal of mealsOn(patient, d)) rise += meal.size * patient.mealResponse * mealCurve(t - meal.t);
  }
  const noise = 3 * smoothNoise(patient.seed, S.glucose, t, 20 * MINUTE_MS);
  return clamp(patient.fastingGlucose + rise - 8 * act + noise, 80, 400);
}

/** Slow drift: knots 10 days apart, so the day-to-day change is about 0.1 kg. */
function weight(patient: PatientBaseline, t: number): number {
  return clamp(patient.weightKg + 0.8 * smoothNoise(patient.seed, S.weight, t, 10 * DAY_MS), 40, 200);
}

// ---- location --------------------------------------------------------------------------

function location(patient: PatientBaseline, t: number): Fix {
  const burst = burstAt(patient, t);
  let centre = patient.home;
  let outdoors = false;
  if (burst?.outdoor && t > burst.start && t < burst.end) {
    const along = (t - burst.start) / (burst.end - burst.start);
    const bearing = burst.bearing + 0.4 * smoothNoise(patient.seed, S.walk, t, 2 * MINUTE_MS);
    centre = offsetMeters(patient.home, bearing, burst.radiusM * Math.sin(Math.PI * along));
    outdoors = true;
  }
  const accuracy = outdoors
    ? 5 + 3 * Math.abs(smoothNoise(patient.seed, S.gpsAccuracy, t, MINUTE_MS))
    : 15 + 5 * Math.abs(smoothNoise(patient.seed, S.gpsAccuracy, t, MINUTE_MS));
  const north = 0.4 * accuracy * smoothNoise(patient.seed, S.gpsNorth, t, 20_000);
  const east = 0.4 * accuracy * smoothNoise(patient.seed, S.gpsEast, t, 20_000);
  const fix = offsetMeters(centre, Math.atan2(east, north), Math.hypot(north, east));
  return { lat: fix.lat, lon: fix.lon, accuracyM: accuracy };
}

/** The natural body of a patient: no scenario, no device measurement error. */
export function createBody(patient: PatientBaseline): Body {
  const act = (t: number): number => activity(patient, t);
  return {
    patient,
    activity: act,
    stepRate: (t) => {
      const a = act(t);
      return a < 0.2 ? 60 * a : 60 + 60 * a;
    },
    heartRate: (t) => heartRate(patient, t, act(t)),
    spo2: (t) => spo2(patient, t, act(t)),
    bodyTemperature: (t) => bodyTemperature(patient, t, act(t)),
    bloodPressure: (t) => bloodPressure(patient, t, act(t)),
    glucose: (t) => glucose(patient, t, act(t)),
    weight: (t) => weight(patient, t),
    location: (t) => location(patient, t),
  };
}
