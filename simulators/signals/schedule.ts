// When a measuring device (bp monitor, glucometer, scale, thermometer) takes a reading:
// at the patient's daily measurement times, or, in demo/accelerated mode, every N seconds.
import { localDay } from './patient.js';
import type { PatientBaseline } from './types.js';

export interface MeasurementSchedule {
  /** Measurement times in (fromExclusive, toInclusive], ascending. */
  timesIn(fromExclusive: number, toInclusive: number): number[];
}

/** Every `intervalMs` from `anchor` on. */
export class IntervalSchedule implements MeasurementSchedule {
  constructor(
    private readonly anchor: number,
    private readonly intervalMs: number,
  ) {
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError('interval must be positive');
  }

  timesIn(fromExclusive: number, toInclusive: number): number[] {
    const times: number[] = [];
    let k = Math.max(0, Math.floor((fromExclusive - this.anchor) / this.intervalMs));
    for (; ; k += 1) {
      const t = this.anchor + k * this.intervalMs;
      if (t > toInclusive) break;
      if (t > fromExclusive) times.push(t);
    }
    return times;
  }
}

/** At times fixed per local day by `timesOn(day)` (epoch ms), e.g. morning and evening. */
export class DailySchedule implements MeasurementSchedule {
  private readonly cache = new Map<number, readonly number[]>();

  constructor(
    private readonly patient: PatientBaseline,
    private readonly timesOn: (day: number) => readonly number[],
  ) {}

  timesIn(fromExclusive: number, toInclusive: number): number[] {
    const times: number[] = [];
    const last = localDay(this.patient, toInclusive) + 1;
    for (let day = localDay(this.patient, fromExclusive) - 1; day <= last; day += 1) {
      for (const t of this.day(day)) if (t > fromExclusive && t <= toInclusive) times.push(t);
    }
    return times.sort((a, b) => a - b);
  }

  private day(day: number): readonly number[] {
    let times = this.cache.get(day);
    if (!times) {
      times = this.timesOn(day);
      if (this.cache.size >= 8) this.cache.clear();
      this.cache.set(day, times);
    }
    return times;
  }
}

/** Merges sorted time lists, dropping exact repeats. */
export function mergeTimes(...lists: readonly (readonly number[])[]): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}
