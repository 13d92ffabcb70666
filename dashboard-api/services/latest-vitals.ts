// The latest reading of each vital per patient, each device's last reading, and hourly means
// (for trends), kept in this process from the live feed, so "My patients" does not read InfluxDB
// for every patient on every refresh. A patient is seeded once from stored telemetry (the last
// minutes raw, the last day hourly) the first time it is asked for; from then on every accepted
// reading (the live feed fires at intake) keeps it current. PHI in memory only, like the
// telemetry cache: bounded, and dropped for an erased patient.
import type { ReadingType } from '../../core/domain.js';
import type { LiveEvent, TelemetryPoint } from '../ports.js';
import type { TelemetryService } from '../telemetry/telemetry-service.js';

const HOUR_MS = 3_600_000;
const RECENT_MS = 5 * 60_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_PATIENTS = 5_000;
const HOURS_KEPT = 3;

export interface LatestValue {
  ts: number;
  values: { value?: number; systolic?: number; diastolic?: number };
  /** From a reading (exact) or an hourly mean (when nothing recent was stored at seeding). */
  exact: boolean;
}

export interface PatientVitals {
  latest: Map<ReadingType, LatestValue>;
  /** Mean of the primary value (value, or systolic) per hour start, the last few hours. */
  hours: Map<ReadingType, Map<number, { sum: number; n: number }>>;
  lastByDevice: Map<string, number>;
}

interface Bucket {
  start: number;
  count: number;
  value?: { mean: number };
  systolic?: { mean: number };
  diastolic?: { mean: number };
}

const primaryOf = (v: LatestValue['values']): number | undefined => v.systolic ?? v.value;

export class LatestVitals {
  private readonly patients = new Map<string, PatientVitals>();
  private readonly seeding = new Map<string, Promise<PatientVitals>>();
  /** Readings that arrive while a patient is being seeded, applied once the seed is in. */
  private readonly early = new Map<string, TelemetryPoint[]>();

  constructor(
    private readonly telemetry: TelemetryService,
    private readonly types: readonly ReadingType[],
    private readonly now: () => number,
  ) {
    telemetry.subscribe((event: LiveEvent) => {
      if (event.kind === 'reading' && event.patientId) this.record(event.patientId, event.point);
    });
  }

  /** The patient's vitals: from memory, seeded from storage the first time. */
  async of(patientId: string): Promise<PatientVitals> {
    const known = this.patients.get(patientId);
    if (known) return known;
    let pending = this.seeding.get(patientId);
    if (!pending) {
      this.early.set(patientId, []);
      pending = this.seed(patientId).finally(() => {
        this.seeding.delete(patientId);
        this.early.delete(patientId);
      });
      this.seeding.set(patientId, pending);
    }
    return pending;
  }

  forget(patientId: string): void {
    this.patients.delete(patientId);
  }

  private async seed(patientId: string): Promise<PatientVitals> {
    const now = this.now();
    const [recent, hourly] = await Promise.all([
      this.telemetry.raw(patientId, now - RECENT_MS, now, this.types, 20_000),
      this.telemetry.downsampled(patientId, now - DAY_MS, now, this.types, HOUR_MS),
    ]);
    const vitals: PatientVitals = { latest: new Map(), hours: new Map(), lastByDevice: new Map() };
    for (const [type, buckets] of hourly) {
      const filled = (buckets as Bucket[]).filter((b) => b.count > 0);
      const hours = new Map<number, { sum: number; n: number }>();
      for (const b of filled.slice(-HOURS_KEPT)) {
        const mean = b.systolic?.mean ?? b.value?.mean;
        if (mean !== undefined) hours.set(b.start, { sum: mean * b.count, n: b.count });
      }
      vitals.hours.set(type, hours);
      const last = filled.at(-1);
      if (last) {
        vitals.latest.set(type, {
          ts: Math.min(now, last.start + HOUR_MS),
          values: last.systolic
            ? { systolic: Math.round(last.systolic.mean), diastolic: Math.round(last.diastolic?.mean ?? 0) }
            : { value: Math.round((last.value?.mean ?? 0) * 10) / 10 },
          exact: false,
        });
      }
    }
    for (const p of recent) this.apply(vitals, p, false);
    // Readings that came in on the live feed while seeding (the newest wins in apply()).
    for (const p of this.early.get(patientId) ?? []) this.apply(vitals, p, true);
    this.store(patientId, vitals);
    return vitals;
  }

  private record(patientId: string, point: TelemetryPoint): void {
    if (!this.types.includes(point.type)) return;
    const vitals = this.patients.get(patientId);
    if (vitals) this.apply(vitals, point, true);
    else this.early.get(patientId)?.push(point);
  }

  private apply(vitals: PatientVitals, point: TelemetryPoint, countHour: boolean): void {
    const values = point.values as LatestValue['values'];
    const current = vitals.latest.get(point.type);
    if (!current || point.ts >= current.ts) {
      vitals.latest.set(point.type, {
        ts: point.ts,
        values:
          values.systolic !== undefined
            ? { systolic: values.systolic, diastolic: values.diastolic ?? 0 }
            : { value: values.value ?? 0 },
        exact: true,
      });
    }
    vitals.lastByDevice.set(point.deviceId, Math.max(point.ts, vitals.lastByDevice.get(point.deviceId) ?? 0));
    if (!countHour) return;
    const primary = primaryOf(values);
    if (primary === undefined) return;
    let hours = vitals.hours.get(point.type);
    if (!hours) vitals.hours.set(point.type, (hours = new Map()));
    const start = Math.floor(point.ts / HOUR_MS) * HOUR_MS;
    const slot = hours.get(start) ?? { sum: 0, n: 0 };
    slot.sum += primary;
    slot.n += 1;
    hours.set(start, slot);
    for (const key of [...hours.keys()].sort((a, b) => a - b).slice(0, -HOURS_KEPT)) hours.delete(key);
  }

  private store(patientId: string, vitals: PatientVitals): void {
    this.patients.delete(patientId);
    this.patients.set(patientId, vitals);
    if (this.patients.size > MAX_PATIENTS) this.patients.delete(this.patients.keys().next().value!);
  }
}

/** The mean of the hour before the one `ts` falls in, if known. */
export function previousHourMean(vitals: PatientVitals, type: ReadingType, ts: number): number | undefined {
  const hours = vitals.hours.get(type);
  if (!hours) return undefined;
  const before = [...hours.entries()]
    .filter(([start]) => start + HOUR_MS <= ts)
    .sort((a, b) => b[0] - a[0])[0];
  return before && before[1].n > 0 ? before[1].sum / before[1].n : undefined;
}
