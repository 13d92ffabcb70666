// Days of data: the distinct calendar dates, in the site's time zone, on which a patient had at
// least one reading a device transmitted by itself (modality `sensed`), whatever the number of
// devices or readings that day; manual entries never count (cms-rules.ts). And the 30-day
// device-supply periods those days are counted in.
//
// Presences are the instants of minute rollups (or of buckets of them, 15 minutes or shorter and
// aligned to UTC: every zone's offset is a multiple of 15 minutes, so a bucket never straddles a
// local midnight). A missing modality is `sensed`: direct devices transmit by themselves.
import { FULL_SUPPLY_DAYS, SUPPLY_PERIOD_DAYS, deviceSupplyCode } from './cms-rules.js';
import { addDays, type SiteCalendar } from './site-calendar.js';

export type Modality = 'sensed' | 'manual';

export interface ReadingPresence {
  /** An instant with readings (epoch ms): a rollup minute or a bucket start. */
  at: number;
  deviceId: string;
  modality?: Modality | undefined;
}

/** The sorted distinct local dates with at least one sensed reading. */
export function sensedDates(presences: Iterable<ReadingPresence>, calendar: SiteCalendar): string[] {
  const dates = new Set<string>();
  for (const p of presences) if (p.modality !== 'manual') dates.add(calendar.dateOf(p.at));
  return [...dates].sort();
}

/** Sensed dates per device, each sorted. */
export function sensedDatesByDevice(
  presences: Iterable<ReadingPresence>,
  calendar: SiteCalendar,
): Map<string, string[]> {
  const byDevice = new Map<string, Set<string>>();
  for (const p of presences) {
    if (p.modality === 'manual') continue;
    let set = byDevice.get(p.deviceId);
    if (!set) byDevice.set(p.deviceId, (set = new Set()));
    set.add(calendar.dateOf(p.at));
  }
  return new Map([...byDevice].map(([d, s]) => [d, [...s].sort()]));
}

/** One 30-day device-supply period, by local dates (both included). */
export interface SupplyPeriod {
  /** 1 for the period starting on the monitoring start date. */
  index: number;
  first: string;
  last: string;
}

/**
 * The device-supply periods of an enrolment whose last day falls in [from, to] (local dates):
 * back to back from the monitoring start, 30 days each; the period running when the enrolment
 * ended stops at its end date.
 */
export function supplyPeriodsEnding(
  monitoringStart: string,
  enrolmentEnd: string | null,
  from: string,
  to: string,
): SupplyPeriod[] {
  const out: SupplyPeriod[] = [];
  for (let index = 1; ; index++) {
    const first = addDays(monitoringStart, (index - 1) * SUPPLY_PERIOD_DAYS);
    if (enrolmentEnd !== null && first > enrolmentEnd) break;
    let last = addDays(first, SUPPLY_PERIOD_DAYS - 1);
    if (enrolmentEnd !== null && last > enrolmentEnd) last = enrolmentEnd;
    if (last > to) break;
    if (last >= from) out.push({ index, first, last });
  }
  return out;
}

export interface SupplyPeriodResult extends SupplyPeriod {
  /** The dates of the period with sensed readings (the evidence). */
  dates: string[];
  days: number;
  code: '99454' | '99445' | null;
}

/** Counts a period's days of data from the sorted sensed dates and gives its code. */
export function evaluateSupplyPeriod(
  period: SupplyPeriod,
  sortedDates: readonly string[],
): SupplyPeriodResult {
  const dates = sortedDates.filter((d) => d >= period.first && d <= period.last);
  return { ...period, dates, days: dates.length, code: deviceSupplyCode(dates.length) };
}

/** Days still needed in a running period for 99454, or 0 when met. */
export function daysShortOfFullSupply(days: number): number {
  return Math.max(0, FULL_SUPPLY_DAYS - days);
}
