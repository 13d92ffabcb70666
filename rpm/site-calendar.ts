// Calendar dates in the site's time zone. RPM counts "days" as the calendar dates of the site
// (CMS counts distinct days of data in a 30-day period; a reading at 23:59 and one at 00:01 are
// two days), and treatment time by calendar month, so every instant is turned into the local
// date of one IANA zone here, daylight-saving changes included. Dates are `YYYY-MM-DD` strings;
// date arithmetic is done on the proleptic Gregorian calendar, never by adding 24 hours.
import { VitalGateError } from '../core/errors.js';
import { isTimeZone, wallClock, zoneOffsetMs } from '../core/time-zone.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;
const DAY_MS = 86_400_000;

export function isDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(t).toISOString().slice(0, 10) === value;
}

export function isMonth(value: string): boolean {
  const m = MONTH.exec(value);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 12;
}

/** `date` plus `days` calendar days. */
export function addDays(date: string, days: number): string {
  const m = DATE.exec(date);
  if (!m) throw new VitalGateError('RPM_DATE_INVALID', 'expected a date as YYYY-MM-DD');
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + days * DAY_MS)
    .toISOString()
    .slice(0, 10);
}

/** Calendar days from `a` to `b` (b - a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

export function monthOf(date: string): string {
  return date.slice(0, 7);
}

export function firstOfMonth(month: string): string {
  return `${month}-01`;
}

export function lastOfMonth(month: string): string {
  return addDays(firstOfMonth(nextMonth(month)), -1);
}

export function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** Turns instants into the site's calendar dates and back. */
export class SiteCalendar {
  private readonly format: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    if (!isTimeZone(timeZone))
      throw new VitalGateError('RPM_TIME_ZONE_INVALID', `unknown time zone ${timeZone}`);
    this.format = wallClock(timeZone);
  }

  /** The local calendar date of an instant (epoch ms). */
  dateOf(at: number): string {
    const p = this.parts(at);
    return `${p.year}-${p.month}-${p.day}`;
  }

  /** The local hour (0-23) and minute of an instant. */
  timeOf(at: number): { hour: number; minute: number } {
    const p = this.parts(at);
    return { hour: Number(p.hour), minute: Number(p.minute) };
  }

  /** The first instant (epoch ms) of a local date: its midnight, or the first minute after a gap. */
  startOf(date: string): number {
    if (!isDate(date)) throw new VitalGateError('RPM_DATE_INVALID', 'expected a date as YYYY-MM-DD');
    const wall = Date.parse(`${date}T00:00:00Z`);
    // The offset at the guess, then at the corrected instant (they differ near a DST change).
    let at = wall - this.offset(wall);
    at = wall - this.offset(at);
    // Midnight may not exist (a gap at 00:00): the day starts at the first instant dated `date`.
    while (this.dateOf(at) < date) at += 15 * 60_000;
    while (this.dateOf(at - 1) === date) at -= 15 * 60_000;
    return at;
  }

  /** [from, to) instants of the local dates first..last, both included. */
  span(first: string, last: string): { from: number; to: number } {
    return { from: this.startOf(first), to: this.startOf(addDays(last, 1)) };
  }

  /** The zone's offset from UTC at an instant, in ms (local = UTC + offset). */
  private offset(at: number): number {
    return zoneOffsetMs(this.format, at);
  }

  private parts(at: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const { type, value } of this.format.formatToParts(at)) out[type] = value;
    return out;
  }
}
