// Devices that measure now and then: the blood-pressure monitor (morning and evening), the
// glucometer (fasting, two hours after each meal, bedtime), the scale (each morning) and the
// thermometer (morning and evening). Each reading carries the time it was taken (`ts`).
// In demo/accelerated mode (`measurementIntervalS`) they measure every N seconds instead.
import type { DeviceKind, ReadingType } from '../../core/domain.js';
import { mealsOn } from './body.js';
import { BaseModel, clamp, scalarReading } from './model.js';
import { HOUR_MS, atLocal, round } from './patient.js';
import { normalAt, stream, uniformAt } from './random.js';
import { DailySchedule, IntervalSchedule, mergeTimes } from './schedule.js';
import type { MeasurementSchedule } from './schedule.js';
import type { Body, PatientBaseline, Reading } from './types.js';

export type MeasuringKind = Extract<DeviceKind, 'bp_monitor' | 'glucometer' | 'weight_scale' | 'thermometer'>;

/** Device measurement error: standard normal for (stream, time). */
type Noise = (streamId: number, key: number) => number;

interface Instrument {
  /** A forced measurement (scenario) of any of these types makes the device measure. */
  readonly types: readonly ReadingType[];
  /** The patient's measurement times on a local day, epoch ms. */
  dailyTimes(patient: PatientBaseline, day: number): number[];
  measure(body: Body, t: number, noise: Noise): Reading[];
}

const S = {
  schedule: stream('measurement-schedule'),
  phase: stream('measurement-phase'),
  systolic: stream('device-systolic'),
  diastolic: stream('device-diastolic'),
  pulse: stream('device-pulse'),
  glucose: stream('device-glucose'),
  weight: stream('device-weight'),
  temperature: stream('device-temperature'),
} as const;

/** A local time with day-to-day jitter (sd in minutes), rounded to the ms. */
function jittered(patient: PatientBaseline, day: number, hour: number, sdMin: number, sub: number): number {
  return Math.round(
    atLocal(patient, day, hour) + normalAt(patient.seed, S.schedule, day, sub) * sdMin * 60_000,
  );
}

const INSTRUMENTS: Record<MeasuringKind, Instrument> = {
  bp_monitor: {
    types: ['blood_pressure', 'heart_rate'],
    dailyTimes: (p, day) => [
      jittered(p, day, p.wakeHour + 0.5, 10, 10),
      jittered(p, day, p.sleepHour - 1, 15, 11),
    ],
    measure: (body, t, noise) => {
      const bp = body.bloodPressure(t);
      const systolic = Math.round(clamp(bp.systolic + 3 * noise(S.systolic, t), 30, 300));
      const diastolic = Math.round(clamp(bp.diastolic + 2 * noise(S.diastolic, t), 10, systolic - 10));
      return [
        { type: 'blood_pressure', systolic, diastolic, unit: 'mm[Hg]', ts: t },
        scalarReading('heart_rate', Math.round(body.heartRate(t) + 1.5 * noise(S.pulse, t)), t),
      ];
    },
  },
  glucometer: {
    types: ['blood_glucose'],
    dailyTimes: (p, day) => [
      jittered(p, day, p.wakeHour + 0.25, 5, 20),
      ...mealsOn(p, day).map((meal, i) =>
        Math.round(meal.t + 2 * HOUR_MS + normalAt(p.seed, S.schedule, day, 21 + i) * 10 * 60_000),
      ),
      jittered(p, day, p.sleepHour - 0.5, 15, 24),
    ],
    measure: (body, t, noise) => [
      scalarReading('blood_glucose', Math.round(body.glucose(t) * (1 + 0.025 * noise(S.glucose, t))), t),
    ],
  },
  weight_scale: {
    types: ['body_weight'],
    dailyTimes: (p, day) => [jittered(p, day, p.wakeHour + 0.3, 10, 30)],
    measure: (body, t, noise) => [
      scalarReading('body_weight', round(body.weight(t) + 0.1 * noise(S.weight, t), 1), t),
    ],
  },
  thermometer: {
    types: ['body_temperature'],
    dailyTimes: (p, day) => [
      jittered(p, day, p.wakeHour + 0.4, 10, 40),
      jittered(p, day, p.sleepHour - 0.75, 15, 41),
    ],
    measure: (body, t, noise) => [
      scalarReading(
        'body_temperature',
        round(body.bodyTemperature(t) + 0.05 * noise(S.temperature, t), 1),
        t,
      ),
    ],
  },
};

/** After a long gap (device off), at most this many measurements are caught up. */
const MAX_BACKLOG = 50;

export class MeasuringModel extends BaseModel {
  private readonly instrument: Instrument;
  private schedule: MeasurementSchedule | undefined;

  constructor(
    kind: MeasuringKind,
    deviceId: string,
    seed: number,
    patient: PatientBaseline,
    private readonly intervalMs?: number,
  ) {
    super(kind, deviceId, seed, patient);
    this.instrument = INSTRUMENTS[kind];
    if (intervalMs !== undefined && !(intervalMs > 0 && Number.isFinite(intervalMs))) {
      throw new RangeError('measurementIntervalS must be a positive number');
    }
    if (intervalMs === undefined) {
      this.schedule = new DailySchedule(patient, (day) => this.instrument.dailyTimes(patient, day));
    }
  }

  protected emit(t: number, previous: number, first: boolean): Reading[] {
    if (!this.schedule && this.intervalMs !== undefined) {
      // Demo mode: the first measurement comes within min(interval, 5 s) of the first call.
      const phase = Math.round(uniformAt(this.seed, S.phase, 0) * Math.min(this.intervalMs, 5000));
      this.schedule = new IntervalSchedule(t + phase, this.intervalMs);
    }
    const from = first ? t - 1 : previous;
    const times = mergeTimes(
      this.schedule?.timesIn(from, t) ?? [],
      this.forcedTimes(this.instrument.types, from, t),
    ).slice(-MAX_BACKLOG);
    const noise: Noise = (streamId, key) => this.noise(streamId, key, 2);
    return times.flatMap((time) => this.instrument.measure(this.body, time, noise));
  }
}
