// A simulated patient: a baseline drawn from a seed, the patient's local clock, and the
// small amount of geometry the location model needs.
import { Rng } from './random.js';
import type { GeoPoint, PatientBaseline } from './types.js';
import { EARTH_RADIUS_M, distanceM } from '../../core/geo.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Homes are drawn near one of these cities (standard-time UTC offsets). */
const CITIES: readonly { lat: number; lon: number; utcOffsetMin: number }[] = [
  { lat: 52.3676, lon: 4.9041, utcOffsetMin: 60 }, // Amsterdam
  { lat: 51.5072, lon: -0.1276, utcOffsetMin: 0 }, // London
  { lat: 48.1351, lon: 11.582, utcOffsetMin: 60 }, // Munich
  { lat: 40.4168, lon: -3.7038, utcOffsetMin: 60 }, // Madrid
  { lat: 42.3601, lon: -71.0589, utcOffsetMin: -300 }, // Boston
  { lat: 41.8781, lon: -87.6298, utcOffsetMin: -360 }, // Chicago
  { lat: 39.7392, lon: -104.9903, utcOffsetMin: -420 }, // Denver
  { lat: 47.6062, lon: -122.3321, utcOffsetMin: -480 }, // Seattle
  { lat: 43.6532, lon: -79.3832, utcOffsetMin: -300 }, // Toronto
  { lat: -23.5505, lon: -46.6333, utcOffsetMin: -180 }, // São Paulo
  { lat: -33.9249, lon: 18.4241, utcOffsetMin: 120 }, // Cape Town
  { lat: -1.2921, lon: 36.8219, utcOffsetMin: 180 }, // Nairobi
  { lat: 12.9716, lon: 77.5946, utcOffsetMin: 330 }, // Bengaluru
  { lat: 1.3521, lon: 103.8198, utcOffsetMin: 480 }, // Singapore
  { lat: 35.6762, lon: 139.6503, utcOffsetMin: 540 }, // Tokyo
  { lat: -33.8688, lon: 151.2093, utcOffsetMin: 600 }, // Sydney
];

const clamp = (value: number, min: number, max: number): number => Math.max(min, Math.min(max, value));

/** Draws a plausible adult patient from a seed. */
export function drawPatient(seed: number): PatientBaseline {
  const rng = new Rng(seed);
  const restingHeartRate = clamp(rng.normal(67, 7), 52, 84);
  const systolic = clamp(rng.normal(124, 10), 104, 150);
  const diastolic = clamp(rng.normal(79, 6), 64, Math.min(94, systolic - 32));
  const impaired = rng.chance(0.3);
  const fastingGlucose = impaired ? rng.uniform(105, 128) : rng.uniform(84, 99);
  const mealResponse = impaired ? rng.uniform(60, 90) : rng.uniform(35, 60);
  const city = rng.pick(CITIES);
  const home = offsetMeters(city, rng.uniform(0, 2 * Math.PI), rng.uniform(0, 6000));
  return {
    seed,
    restingHeartRate,
    circadianHeartRate: rng.uniform(4, 6),
    spo2: rng.uniform(96.8, 98.4),
    systolic,
    diastolic,
    fastingGlucose,
    mealResponse,
    weightKg: clamp(rng.normal(78, 13), 48, 135),
    temperature: rng.uniform(36.78, 36.92),
    home: { lat: round(home.lat, 6), lon: round(home.lon, 6) },
    utcOffsetMin: city.utcOffsetMin,
    wakeHour: rng.uniform(6.25, 7.75),
    sleepHour: rng.uniform(22.5, 23.75),
    activeness: rng.uniform(0.15, 0.35),
  };
}

export function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Milliseconds since the Unix epoch, shifted to the patient's local clock. */
export function localMs(patient: PatientBaseline, t: number): number {
  return t + patient.utcOffsetMin * MINUTE_MS;
}

/** Local hour of day, 0 <= h < 24. */
export function localHour(patient: PatientBaseline, t: number): number {
  const ms = localMs(patient, t);
  return (((ms % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
}

/** Local day number (days since 1970-01-01 on the patient's clock). */
export function localDay(patient: PatientBaseline, t: number): number {
  return Math.floor(localMs(patient, t) / DAY_MS);
}

/** Epoch ms of a local hour on a local day. */
export function atLocal(patient: PatientBaseline, day: number, hour: number): number {
  return day * DAY_MS + hour * HOUR_MS - patient.utcOffsetMin * MINUTE_MS;
}

const smoothstep = (x: number): number => {
  const c = clamp(x, 0, 1);
  return c * c * (3 - 2 * c);
};

/** 0 awake, 1 asleep, with half-hour transitions at sleep onset and waking. */
export function sleepLevel(patient: PatientBaseline, t: number): number {
  const h = localHour(patient, t);
  const sinceOnset = (h - patient.sleepHour + 24) % 24;
  const length = (patient.wakeHour - patient.sleepHour + 24) % 24;
  if (sinceOnset >= length) return 0;
  return Math.min(smoothstep(sinceOnset / 0.5), smoothstep((length - sinceOnset) / 0.5));
}

const METERS_PER_DEGREE = (Math.PI / 180) * EARTH_RADIUS_M;

/** The point `distanceM` from `from` along compass `bearing` (radians, 0 = north). */
export function offsetMeters(from: GeoPoint, bearing: number, distanceM: number): GeoPoint {
  const north = Math.cos(bearing) * distanceM;
  const east = Math.sin(bearing) * distanceM;
  return {
    lat: from.lat + north / METERS_PER_DEGREE,
    lon: from.lon + east / (METERS_PER_DEGREE * Math.cos((from.lat * Math.PI) / 180)),
  };
}

export { distanceM };
