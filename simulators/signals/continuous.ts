// Devices that report on every tick: the wearable (heart rate, SpO2, steps, ECG chunks, and
// less often temperature and location) and the pulse oximeter (SpO2 and pulse rate).
import { READING_DEFINITIONS } from '../../core/domain.js';
import { EcgSynthesizer } from './ecg.js';
import { BaseModel, clamp, scalarReading } from './model.js';
import { DAY_MS, round } from './patient.js';
import { stream } from './random.js';
import type { PatientBaseline, Reading } from './types.js';

const S = {
  heartRate: stream('device-heart-rate'),
  spo2: stream('device-spo2'),
  temperature: stream('device-temperature'),
} as const;

const TEMPERATURE_EVERY_MS = 60_000;
const LOCATION_EVERY_MS = 10_000;
const STEP_INTEGRATION_MS = 10_000;

export interface WearableOptions {
  readonly ecgChunkS: number;
  readonly ecgSampleRateHz: number;
}

export class WearableModel extends BaseModel {
  private readonly ecg: EcgSynthesizer;
  private readonly ecgChunkMs: number;
  private ecgEnd: number | undefined;
  private stepCarry = 0;
  private lastTemperature = -Infinity;
  private lastLocation = -Infinity;

  constructor(deviceId: string, seed: number, patient: PatientBaseline, options: WearableOptions) {
    super('wearable', deviceId, seed, patient);
    const definition = READING_DEFINITIONS.ecg;
    if (definition.shape !== 'ecg') throw new TypeError('ecg definition');
    const rate = options.ecgSampleRateHz;
    if (!(rate >= definition.sampleRateHz.min && rate <= definition.sampleRateHz.max)) {
      throw new RangeError(
        `ecgSampleRateHz must be ${definition.sampleRateHz.min}-${definition.sampleRateHz.max}`,
      );
    }
    if (!(options.ecgChunkS > 0) || options.ecgChunkS * rate > definition.maxSamples) {
      throw new RangeError(`ecgChunkS must be positive and at most ${definition.maxSamples} samples`);
    }
    this.ecg = new EcgSynthesizer(seed, rate);
    this.ecgChunkMs = options.ecgChunkS * 1000;
  }

  protected emit(t: number, previous: number, first: boolean): Reading[] {
    const body = this.body;
    const heartRate = body.heartRate(t) + 0.8 * this.noise(S.heartRate, t);
    const readings: Reading[] = [
      scalarReading('heart_rate', Math.round(heartRate)),
      scalarReading('spo2', Math.round(clamp(body.spo2(t) + 0.4 * this.noise(S.spo2, t), 0, 100))),
      scalarReading('steps', this.steps(previous, t)),
    ];

    const forcedTemperature = this.forcedTimes(['body_temperature'], previous, t).length > 0;
    if (first || forcedTemperature || t - this.lastTemperature >= TEMPERATURE_EVERY_MS) {
      this.lastTemperature = t;
      const celsius = body.bodyTemperature(t) + 0.05 * this.noise(S.temperature, t, 2);
      readings.push(scalarReading('body_temperature', round(celsius, 1)));
    }

    const forcedLocation = this.forcedTimes(['location'], previous, t).length > 0;
    if (first || forcedLocation || t - this.lastLocation >= LOCATION_EVERY_MS) {
      this.lastLocation = t;
      const fix = body.location(t);
      readings.push({
        type: 'location',
        lat: round(clamp(fix.lat, -90, 90), 6),
        lon: round(clamp(fix.lon, -180, 180), 6),
        accuracyM: Math.max(1, Math.round(fix.accuracyM)),
      });
    }

    const from = this.ecgEnd === undefined ? t - this.ecgChunkMs : Math.max(this.ecgEnd, t - this.ecgChunkMs);
    if (t > from) {
      const chunk = this.ecg.chunk(from, t, body.heartRate);
      this.ecgEnd = t;
      if (chunk.samples.length > 0) {
        readings.push({
          type: 'ecg',
          sampleRateHz: this.ecg.sampleRateHz,
          samples: chunk.samples,
          unit: 'mV',
          ts: Math.round(chunk.ts),
        });
      }
    }
    return readings;
  }

  /** Whole steps taken in (from, to], carrying the fraction to the next call. */
  private steps(fromExclusive: number, toInclusive: number): number {
    const from = Math.max(fromExclusive, toInclusive - DAY_MS);
    const span = toInclusive - from;
    if (span <= 0) return 0;
    const parts = Math.ceil(span / STEP_INTEGRATION_MS);
    const dt = span / parts;
    let total = this.stepCarry;
    for (let i = 0; i < parts; i += 1) total += (this.body.stepRate(from + (i + 0.5) * dt) * dt) / 60_000;
    const whole = Math.floor(total);
    this.stepCarry = total - whole;
    return whole;
  }
}

export class PulseOximeterModel extends BaseModel {
  constructor(deviceId: string, seed: number, patient: PatientBaseline) {
    super('pulse_oximeter', deviceId, seed, patient);
  }

  protected emit(t: number): Reading[] {
    const body = this.body;
    return [
      scalarReading('spo2', Math.round(clamp(body.spo2(t) + 0.4 * this.noise(S.spo2, t), 0, 100))),
      scalarReading('heart_rate', Math.round(body.heartRate(t) + 0.8 * this.noise(S.heartRate, t))),
    ];
  }
}
