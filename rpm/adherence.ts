// Adherence: are the patients measuring? Per patient and device, the days with at least one
// sensed reading in the rolling 30 days (the site's calendar dates, today included), the last
// sensed reading's time, and whether the device keeps its kind's expected cadence; per patient,
// the days of data in the rolling window and where the current 30-day device-supply period
// stands against the 16 days 99454 needs. The programme view sorts patients by who is falling
// behind. Pure: the facts come in, the service (adherence-service.ts) fetches them.
import type { DeviceKind } from '../core/domain.js';
import { FULL_SUPPLY_DAYS, SUPPLY_PERIOD_DAYS } from './cms-rules.js';
import { sensedDates, sensedDatesByDevice, type ReadingPresence } from './reading-days.js';
import { addDays, daysBetween, type SiteCalendar } from './site-calendar.js';

export const ROLLING_DAYS = 30;

/** Hours within which each kind is expected to send a sensed reading again (home monitors measure daily; a scale may skip a day). */
export const CADENCE_HOURS: Readonly<Record<Exclude<DeviceKind, 'gateway'>, number>> = {
  wearable: 24,
  pulse_oximeter: 24,
  bp_monitor: 24,
  glucometer: 24,
  thermometer: 24,
  weight_scale: 48,
};

export interface DeviceAdherence {
  deviceId: string;
  kind: string;
  /** Days with a sensed reading in the rolling 30 days. */
  days: number;
  lastReadingAt: string | null;
  cadenceHours: number;
  cadenceMet: boolean;
}

export interface PatientAdherence {
  patientId: string;
  /** Distinct days with a sensed reading in the rolling 30 days, over all devices. */
  days: number;
  /** The window: first and last (today) local dates. */
  window: { first: string; last: string };
  lastReadingAt: string | null;
  /** The device-supply period running today, if the enrolment is. */
  period: {
    index: number;
    first: string;
    last: string;
    days: number;
    daysLeft: number;
    /** Days still needed for 99454 (16), 0 when met. */
    needed: number;
    /** Whether 16 days are still reachable. */
    reachable: boolean;
  } | null;
  devices: DeviceAdherence[];
  /** Devices not keeping their cadence. */
  behind: number;
}

export interface AdherenceFacts {
  patientId: string;
  monitoringStart: string;
  endedOn: string | null;
  devices: { id: string; kind: DeviceKind }[];
  /** Presences from the window's first day (the running period never starts earlier) to now. */
  presences: readonly ReadingPresence[];
  lastSensed: ReadonlyMap<string, number>;
}

export function patientAdherence(
  facts: AdherenceFacts,
  calendar: SiteCalendar,
  now: number,
): PatientAdherence {
  const today = calendar.dateOf(now);
  const first = addDays(today, -(ROLLING_DAYS - 1));
  const all = sensedDates(facts.presences, calendar);
  const inWindow = (d: string) => d >= first && d <= today;
  const byDevice = sensedDatesByDevice(facts.presences, calendar);
  const devices = facts.devices.map((d): DeviceAdherence => {
    const cadenceHours = d.kind === 'gateway' ? 24 : CADENCE_HOURS[d.kind];
    const last = facts.lastSensed.get(d.id);
    return {
      deviceId: d.id,
      kind: d.kind,
      days: (byDevice.get(d.id) ?? []).filter(inWindow).length,
      lastReadingAt: last === undefined ? null : new Date(last).toISOString(),
      cadenceHours,
      cadenceMet: last !== undefined && now - last <= cadenceHours * 3_600_000,
    };
  });
  const newest = Math.max(...[...facts.lastSensed.values()], -Infinity);
  return {
    patientId: facts.patientId,
    days: all.filter(inWindow).length,
    window: { first, last: today },
    lastReadingAt: Number.isFinite(newest) ? new Date(newest).toISOString() : null,
    period: runningPeriod(facts, all, today),
    devices,
    behind: devices.filter((d) => !d.cadenceMet).length,
  };
}

function runningPeriod(
  facts: AdherenceFacts,
  dates: readonly string[],
  today: string,
): PatientAdherence['period'] {
  if (today < facts.monitoringStart || (facts.endedOn !== null && today > facts.endedOn)) return null;
  const index = Math.floor(daysBetween(facts.monitoringStart, today) / SUPPLY_PERIOD_DAYS) + 1;
  const first = addDays(facts.monitoringStart, (index - 1) * SUPPLY_PERIOD_DAYS);
  let last = addDays(first, SUPPLY_PERIOD_DAYS - 1);
  if (facts.endedOn !== null && facts.endedOn < last) last = facts.endedOn;
  const days = dates.filter((d) => d >= first && d <= today).length;
  // Days after today still to come (today counts as done only if it has data already).
  const daysLeft = daysBetween(today, last) + (dates.includes(today) ? 0 : 1);
  const needed = Math.max(0, FULL_SUPPLY_DAYS - days);
  return { index, first, last, days, daysLeft, needed, reachable: needed <= daysLeft };
}

/**
 * Who is falling behind first: a period that can no longer reach 16 days, then the most days
 * still needed per day left, then the fewest days in the window, then the oldest last reading;
 * patients not monitored today (not started, ended) last.
 */
export function byFallingBehind(a: PatientAdherence, b: PatientAdherence): number {
  const rank = (p: PatientAdherence) => {
    if (!p.period) return [2, 0]; // not monitoring now: last
    if (!p.period.reachable) return [0, -p.period.needed];
    return [1, -(p.period.needed / Math.max(1, p.period.daysLeft))];
  };
  const [ra, sa] = rank(a);
  const [rb, sb] = rank(b);
  if (ra !== rb) return ra! - rb!;
  if (sa !== sb) return sa! - sb!;
  if (a.days !== b.days) return a.days - b.days;
  return (a.lastReadingAt ?? '') < (b.lastReadingAt ?? '')
    ? -1
    : (a.lastReadingAt ?? '') > (b.lastReadingAt ?? '')
      ? 1
      : 0;
}
