// The shapes the signal models speak: readings exactly as in the telemetry envelope (SPEC §4),
// the patient's body as pure functions of simulated time, and the model interface the fleet
// runner drives.
import type { DeviceKind, ReadingType } from '../../core/domain.js';

export type ScalarReadingType = Exclude<ReadingType, 'blood_pressure' | 'ecg' | 'location'>;

export interface ScalarReading {
  readonly type: ScalarReadingType;
  readonly value: number;
  readonly unit: string;
  /** Epoch ms of the measurement when it differs from the envelope's `ts`. */
  readonly ts?: number;
}

export interface BloodPressureReading {
  readonly type: 'blood_pressure';
  readonly systolic: number;
  readonly diastolic: number;
  readonly unit: 'mm[Hg]';
  readonly ts?: number;
}

export interface EcgReading {
  readonly type: 'ecg';
  readonly sampleRateHz: number;
  readonly samples: number[];
  readonly unit: 'mV';
  /** Epoch ms of the first sample. */
  readonly ts?: number;
}

export interface LocationReading {
  readonly type: 'location';
  readonly lat: number;
  readonly lon: number;
  readonly accuracyM: number;
  readonly ts?: number;
}

export type Reading = ScalarReading | BloodPressureReading | EcgReading | LocationReading;

export interface GeoPoint {
  readonly lat: number;
  readonly lon: number;
}

/** Who the simulated patient is: drawn once from the patient seed. */
export interface PatientBaseline {
  readonly seed: number;
  readonly restingHeartRate: number;
  /** Peak-to-mean amplitude of the circadian heart-rate swing, /min. */
  readonly circadianHeartRate: number;
  readonly spo2: number;
  readonly systolic: number;
  readonly diastolic: number;
  readonly fastingGlucose: number;
  /** Peak glucose rise after an average meal, mg/dL. */
  readonly mealResponse: number;
  readonly weightKg: number;
  /** Mean core temperature, Cel. */
  readonly temperature: number;
  readonly home: GeoPoint;
  /** Offset of the patient's local time from UTC, minutes (standard time, no DST). */
  readonly utcOffsetMin: number;
  /** Local hours of waking and of falling asleep, e.g. 6.75 and 23.25. */
  readonly wakeHour: number;
  readonly sleepHour: number;
  /** Chance of an activity burst in an awake 15-minute slot. */
  readonly activeness: number;
}

export interface BloodPressure {
  readonly systolic: number;
  readonly diastolic: number;
}

export interface Fix {
  readonly lat: number;
  readonly lon: number;
  readonly accuracyM: number;
}

/**
 * The patient's physiology: pure functions of simulated time (epoch ms), unrounded, without
 * device measurement error. Models sample it; scenarios replace parts of it.
 */
export interface Body {
  readonly patient: PatientBaseline;
  /** 0 (at rest or asleep) to 1 (brisk walk). */
  activity(t: number): number;
  /** Cadence, steps per minute. */
  stepRate(t: number): number;
  heartRate(t: number): number;
  spo2(t: number): number;
  bodyTemperature(t: number): number;
  bloodPressure(t: number): BloodPressure;
  glucose(t: number): number;
  weight(t: number): number;
  location(t: number): Fix;
}

/**
 * A change to a body over time (a scenario). `wrap` gets the body so far and returns the
 * changed one; `forces` lists reading types that must be measured at `forcedTimes`, so that
 * a device which measures twice a day still shows the change soon.
 */
export interface BodyModifier {
  readonly name: string;
  /** Epoch ms; when omitted, the model's next `next(t)` call starts it. */
  readonly startT?: number;
  /** How long it lasts; when omitted, it lasts for ever. */
  readonly durationS?: number;
  readonly forces: readonly ReadingType[];
  build(startT: number): ActiveModifier;
}

export interface ActiveModifier {
  readonly name: string;
  readonly startT: number;
  readonly forces: readonly ReadingType[];
  wrap(body: Body): Body;
  /** Forced measurement times in (fromExclusive, toInclusive], ascending. */
  forcedTimes(fromExclusive: number, toInclusive: number): number[];
}

export interface SignalModel {
  readonly kind: DeviceKind;
  readonly deviceId: string;
  readonly patient: PatientBaseline;
  /** The body as the model currently sees it, modifiers included. */
  readonly body: Body;
  /** Names of the modifiers (scenarios) applied so far. */
  readonly modifiers: readonly string[];
  /**
   * Readings the device publishes at simulated time `t` (epoch ms). Call it at the device's
   * publish rate with non-decreasing `t`; it may return an empty list (nothing due).
   */
  next(t: number): Reading[];
  /** Applies a modifier from its start time on; returns this model. */
  modify(modifier: BodyModifier): this;
}

export interface ScenarioRequest {
  readonly name: string;
  /** Epoch ms; defaults to the first `next(t)` call. */
  readonly startT?: number;
  readonly durationS?: number;
}

export interface SignalModelOptions {
  /** Fleet seed: a run with the same seed and device ids is reproduced exactly. */
  readonly seed: number | string;
  readonly deviceId: string;
  /** Devices with the same seed and patient id share one patient (baseline, day, meals). */
  readonly patientId?: string;
  /**
   * Demo/accelerated mode for measuring devices (bp_monitor, glucometer, weight_scale,
   * thermometer): measure every N seconds from the first call, instead of at the patient's
   * daily measurement times.
   */
  readonly measurementIntervalS?: number;
  /** Wearable: longest ECG chunk per call, seconds (default 1; at most 5000 samples). */
  readonly ecgChunkS?: number;
  /** Wearable: ECG sample rate (default 250). */
  readonly ecgSampleRateHz?: number;
  /** A scenario by name (see simulators/scenarios.ts), or with a start and duration. */
  readonly scenario?: string | ScenarioRequest;
}
