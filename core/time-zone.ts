// Wall-clock time in an IANA time zone, daylight saving included: whether the runtime knows a
// zone, and a zone's offset from UTC at an instant (what turns "07:00 on the site" or "the
// site's midnight" into an instant).

/** Whether the runtime knows the IANA zone. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A formatter of the zone's wall clock to the second (24-hour), for `zoneOffsetMs`. */
export function wallClock(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
}

/** The zone's offset from UTC at instant `at`, in ms (wall clock = UTC + offset). */
export function zoneOffsetMs(clock: Intl.DateTimeFormat, at: number): number {
  const p: Record<string, string> = {};
  for (const { type, value } of clock.formatToParts(at)) p[type] = value;
  const wall = Date.UTC(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour),
    Number(p.minute),
    Number(p.second),
  );
  return wall - Math.floor(at / 1000) * 1000;
}
