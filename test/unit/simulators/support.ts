// Helpers shared by the simulator tests (not a test file itself).
import { KIND_READING_TYPES, READING_DEFINITIONS } from '../../../core/domain.js';
import type { DeviceKind } from '../../../core/domain.js';
import type { Reading, SignalModel } from '../../../simulators/signals/index.js';

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** A Monday, 00:00 UTC. */
export const T0 = Date.UTC(2026, 2, 2, 0, 0, 0);

export interface Tick {
  readonly t: number;
  readonly readings: Reading[];
}

/** Calls `model.next` every `stepMs` in [from, to). */
export function run(model: SignalModel, from: number, to: number, stepMs: number): Tick[] {
  const ticks: Tick[] = [];
  for (let t = from; t < to; t += stepMs) ticks.push({ t, readings: model.next(t) });
  return ticks;
}

/** Every reading with the time it describes (its own `ts`, else the tick's). */
export function flatten(ticks: readonly Tick[]): { t: number; reading: Reading }[] {
  return ticks.flatMap(({ t, readings }) => readings.map((reading) => ({ t: reading.ts ?? t, reading })));
}

export function scalarValues(ticks: readonly Tick[], type: string): { t: number; value: number }[] {
  return flatten(ticks).flatMap(({ t, reading }) =>
    reading.type === type && 'value' in reading ? [{ t, value: reading.value }] : [],
  );
}

const inRange = (value: number, range: { min: number; max: number }): boolean =>
  Number.isFinite(value) && value >= range.min && value <= range.max;

/** Problems with a reading against SPEC §4 and core/domain for a device kind ([] if none). */
export function problems(kind: DeviceKind, reading: Reading): string[] {
  const found: string[] = [];
  const where = `${kind}/${reading.type}`;
  if (!KIND_READING_TYPES[kind].includes(reading.type)) found.push(`${where}: type not allowed for kind`);
  if (reading.ts !== undefined && !Number.isInteger(reading.ts)) found.push(`${where}: ts not integer ms`);
  const definition = READING_DEFINITIONS[reading.type];
  const keys = Object.keys(reading).sort().join(',');
  switch (reading.type) {
    case 'blood_pressure': {
      if (definition.shape !== 'blood_pressure') throw new Error('definition');
      if (keys !== 'diastolic,systolic,ts,type,unit' && keys !== 'diastolic,systolic,type,unit')
        found.push(`${where}: keys ${keys}`);
      if ((reading.unit as string) !== definition.unit) found.push(`${where}: unit ${String(reading.unit)}`);
      if (!inRange(reading.systolic, definition.systolic.possible))
        found.push(`${where}: systolic ${reading.systolic}`);
      if (!inRange(reading.diastolic, definition.diastolic.possible))
        found.push(`${where}: diastolic ${reading.diastolic}`);
      if (reading.diastolic >= reading.systolic) found.push(`${where}: diastolic >= systolic`);
      break;
    }
    case 'ecg': {
      if (definition.shape !== 'ecg') throw new Error('definition');
      if (keys !== 'sampleRateHz,samples,ts,type,unit' && keys !== 'sampleRateHz,samples,type,unit')
        found.push(`${where}: keys ${keys}`);
      if ((reading.unit as string) !== definition.unit) found.push(`${where}: unit ${String(reading.unit)}`);
      if (!inRange(reading.sampleRateHz, definition.sampleRateHz))
        found.push(`${where}: rate ${reading.sampleRateHz}`);
      if (reading.samples.length === 0 || reading.samples.length > definition.maxSamples)
        found.push(`${where}: ${reading.samples.length} samples`);
      if (!reading.samples.every((v) => inRange(v, definition.possible)))
        found.push(`${where}: sample out of range`);
      break;
    }
    case 'location': {
      if (keys !== 'accuracyM,lat,lon,ts,type' && keys !== 'accuracyM,lat,lon,type')
        found.push(`${where}: keys ${keys}`);
      if (!inRange(reading.lat, { min: -90, max: 90 })) found.push(`${where}: lat ${reading.lat}`);
      if (!inRange(reading.lon, { min: -180, max: 180 })) found.push(`${where}: lon ${reading.lon}`);
      if (!(reading.accuracyM > 0) || !Number.isFinite(reading.accuracyM)) found.push(`${where}: accuracy`);
      break;
    }
    default: {
      if (definition.shape !== 'scalar') throw new Error('definition');
      if (keys !== 'ts,type,unit,value' && keys !== 'type,unit,value') found.push(`${where}: keys ${keys}`);
      if ((reading.unit as string) !== definition.unit) found.push(`${where}: unit ${String(reading.unit)}`);
      if (!inRange(reading.value, definition.possible)) found.push(`${where}: value ${reading.value}`);
    }
  }
  return found;
}

/** R peaks: samples above `threshold` mV that are the maximum within ±100 ms. */
export function countRPeaks(samples: readonly number[], sampleRateHz: number, threshold = 0.6): number {
  const half = Math.round(0.1 * sampleRateHz);
  let peaks = 0;
  for (let i = 0; i < samples.length; i += 1) {
    const v = samples[i] as number;
    if (v < threshold) continue;
    let isPeak = true;
    for (let j = Math.max(0, i - half); j <= Math.min(samples.length - 1, i + half) && isPeak; j += 1) {
      const w = samples[j] as number;
      if (w > v || (w === v && j < i)) isPeak = false;
    }
    if (isPeak) peaks += 1;
  }
  return peaks;
}

export const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
