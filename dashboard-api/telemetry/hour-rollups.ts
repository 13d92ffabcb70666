// Hourly statistics of a patient from the hourly rollups (ingest/hour-rollup-sealing.ts), so a
// 30-day chart opens some 720 sealed points per device instead of 43,200 minute rollups.
// InfluxDB counts each device's minute rollup points per hour (all of them, and the closed ones)
// next to the hourly points; an hourly point is used only when it merged exactly that many
// points and all of them are closed. Other hours come from their minute rollups (and the points
// of minutes not closed), and an ended hour whose minutes are all closed gets its hourly point
// written, sealed under the patient's key, for the next reader: the first view of an hour pays
// once, after a restart too. HourlyCompaction writes them ahead of any reader.
import { READING_TYPES, type ReadingType } from '../../core/domain.js';
import type { InfluxClient } from '../../core/influx.js';
import type { Keyring } from '../../core/keyring.js';
import {
  HOUR_MS,
  HOUR_ROLLUP_MEASUREMENT,
  hourMinuteSums,
  openHourMinuteSums,
  openHourRollup,
  sealHourRollup,
  type HourMinuteSums,
  type HourRollup,
} from '../../ingest/hour-rollup-sealing.js';
import { mergeStats, mergeSums, type ReadingSums, type StatComponent } from '../../ingest/reading-stats.js';
import {
  MINUTE_MS,
  ROLLUP_MEASUREMENT,
  openRollupStats,
  rollupMinute,
  type MinuteStats,
} from '../../ingest/rollup-sealing.js';
import { pseudonymFor } from '../../ingest/sealing.js';
import type { TelemetryPoint, TelemetryQuery } from '../ports.js';
import { addPoints, type StatsByType } from './downsample.js';

/** A minute rollup point as read back (time in µs). */
export interface MinuteRow {
  d: string;
  row: Record<string, unknown>;
}

/** What the hourly path needs of the minute rollups (InfluxTelemetryReader). */
export interface MinuteSource {
  /** Rollup points (`c`, `k`, `o`) of the minutes starting in [from, to]. */
  rollupRows(pseudonym: string, from: number, to: number): Promise<MinuteRow[]>;
  /** The points of the query's minutes that are in `unclosed`. */
  readUnclosed(
    pseudonym: string,
    query: TelemetryQuery,
    unclosed: ReadonlySet<number>,
  ): Promise<TelemetryPoint[]>;
}

/** Runs of consecutive hours read from the minutes at once. */
const HOUR_RUN_CONCURRENCY = 2;

export class HourRollups {
  private failedWrites = 0;

  constructor(
    private readonly influx: InfluxClient,
    private readonly keyring: Keyring,
    private readonly minutes: MinuteSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** Hourly points that could not be written (the hour is read from its minutes next time too). */
  get writeFailures(): number {
    return this.failedWrites;
  }

  /**
   * Statistics per type and hour start of [from, to] (`from` and `to + 1` whole hours, not
   * before the first minute covered by rollups).
   */
  async read(query: TelemetryQuery): Promise<StatsByType> {
    const wanted = wantedTypes(query);
    const out: StatsByType = new Map();
    const { pseudonym, hours, todo } = await this.plan(query, false);
    for (const { hour, rollup } of hours) addWanted(out, rollup.stats, hour, wanted);
    const computed = await this.fromMinutes(query, pseudonym, wanted, todo);
    for (const h of computed.hours) addWanted(out, h.stats, h.hour, wanted);
    addPoints(out, computed.unclosed, HOUR_MS);
    return out;
  }

  /**
   * Sums per type and minute start of [from, to] (whole minutes, not before the first minute
   * covered by rollups), from the hourly points' minute sums (`m`) where they stand, else from the
   * minutes (and those hours written again, with their sums).
   */
  async readMinuteSums(query: TelemetryQuery): Promise<Map<ReadingType, Map<number, ReadingSums>>> {
    const wanted = wantedTypes(query);
    const hoursQuery = { ...query, from: hourOf(query.from), to: hourOf(query.to) + HOUR_MS - 1 };
    const out = new Map<ReadingType, Map<number, ReadingSums>>();
    const add = (type: ReadingType, minute: number, sums: Readonly<ReadingSums>) => {
      if (!wanted.has(type) || minute < query.from || minute > query.to) return;
      let byMinute = out.get(type);
      if (!byMinute) out.set(type, (byMinute = new Map()));
      let into = byMinute.get(minute);
      if (!into) byMinute.set(minute, (into = {}));
      mergeSums(into, sums);
    };
    const { pseudonym, hours, todo } = await this.plan(hoursQuery, true);
    for (const { hour, minuteSums } of hours)
      for (const [type, byComponent] of Object.entries(minuteSums!) as [
        ReadingType,
        HourMinuteSums[ReadingType],
      ][])
        for (const [c, entries] of Object.entries(byComponent!) as [
          StatComponent,
          [number, number, number][],
        ][])
          for (const [index, sum, n] of entries) add(type, hour + index * MINUTE_MS, { [c]: { sum, n } });
    const computed = await this.fromMinutes(hoursQuery, pseudonym, wanted, todo);
    for (const h of computed.hours)
      for (const [minute, stats] of h.minutes)
        for (const [type, s] of Object.entries(stats) as [ReadingType, MinuteStats[ReadingType]][])
          add(type, minute, s!);
    const unclosed: StatsByType = new Map();
    addPoints(unclosed, computed.unclosed, MINUTE_MS);
    for (const [type, byMinute] of unclosed) for (const [minute, s] of byMinute) add(type, minute, s);
    return out;
  }

  /**
   * The hours of [from, to] (whole hours) whose hourly points stand (opened; with their minute
   * sums when `withMinuteSums`), and the device|hour keys to be read from their minutes.
   */
  private async plan(query: TelemetryQuery, withMinuteSums: boolean) {
    const { patientId, from, to } = query;
    const pseudonym = pseudonymFor(this.keyring, patientId);
    const end = Math.trunc(to) + 1;
    const range = `s = $s AND time >= ${Math.trunc(from)}ms AND time < ${end}ms`;
    const [hourSeries, countSeries] = await Promise.all([
      this.influx.query(
        `SELECT c, k${withMinuteSums ? ', m' : ''} FROM ${HOUR_ROLLUP_MEASUREMENT} WHERE ${range} GROUP BY d`,
        { s: pseudonym },
      ),
      this.influx.query(
        `SELECT count(o) AS n, count(c) AS closed FROM ${ROLLUP_MEASUREMENT} WHERE ${range} GROUP BY time(1h), d fill(none)`,
        { s: pseudonym },
      ),
    ]);
    const stored = new Map<string, { sealed: string; k: number; m?: string }>();
    for (const s of hourSeries)
      for (const row of s.rows)
        if (typeof row.c === 'string' && typeof row.k === 'number')
          stored.set(`${s.tags.d ?? ''}|${row.time as number}`, {
            sealed: row.c,
            k: row.k,
            ...(typeof row.m === 'string' ? { m: row.m } : {}),
          });
    const hours: { d: string; hour: number; rollup: HourRollup; minuteSums?: HourMinuteSums }[] = [];
    const todo = new Set<string>();
    for (const s of countSeries) {
      const d = s.tags.d ?? '';
      for (const row of s.rows) {
        const hour = row.time as number;
        // Points closed before final lines repeated `o` have `c` only: counted by it.
        const n = Math.max((row.n as number | null) ?? 0, (row.closed as number | null) ?? 0);
        if (!(n > 0)) continue;
        const point = stored.get(`${d}|${hour}`);
        if (point && row.closed === n && (!withMinuteSums || point.m !== undefined)) {
          const at = { time: hour, d, s: pseudonym, k: point.k };
          const rollup = openHourRollup(this.keyring, patientId, { ...at, sealed: point.sealed });
          if (rollup.minutePoints === n) {
            hours.push({
              d,
              hour,
              rollup,
              ...(withMinuteSums
                ? { minuteSums: openHourMinuteSums(this.keyring, patientId, { ...at, sealed: point.m! }) }
                : {}),
            });
            continue;
          }
        }
        todo.add(`${d}|${hour}`);
      }
    }
    return { pseudonym, hours, todo };
  }

  /**
   * The hours in `todo` (device|hour) from their minutes, runs of consecutive hours a few at a
   * time; the hourly points of those that ended with every minute closed are written.
   */
  private async fromMinutes(
    query: TelemetryQuery,
    pseudonym: string,
    wanted: ReadonlySet<ReadingType>,
    todo: ReadonlySet<string>,
  ): Promise<{ hours: ComputedHour[]; unclosed: TelemetryPoint[] }> {
    const runs = hourRuns(new Set([...todo].map((k) => Number(k.slice(k.lastIndexOf('|') + 1)))));
    const hours: ComputedHour[] = [];
    const unclosed: TelemetryPoint[] = [];
    const lines: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < runs.length) {
        const [a, b] = runs[next++]!;
        const run = await this.runFromMinutes({ ...query, from: a, to: b }, pseudonym, wanted, todo);
        hours.push(...run.hours);
        unclosed.push(...run.unclosed);
        lines.push(...run.lines);
      }
    };
    await Promise.all(Array.from({ length: Math.min(HOUR_RUN_CONCURRENCY, runs.length) }, worker));
    if (lines.length > 0)
      await this.influx.writeLines(lines, { precision: 'n' }).catch(() => {
        this.failedWrites += 1;
      });
    return { hours, unclosed };
  }

  /** One run of hours from its minutes: the hours, the points of minutes not closed, the lines to write. */
  private async runFromMinutes(
    query: TelemetryQuery,
    pseudonym: string,
    wanted: ReadonlySet<ReadingType>,
    todo: ReadonlySet<string>,
  ): Promise<{ hours: ComputedHour[]; unclosed: TelemetryPoint[]; lines: string[] }> {
    const rows = (await this.minutes.rollupRows(pseudonym, query.from, query.to)).filter(({ d, row }) =>
      todo.has(`${d}|${hourOf(rollupMinute(row.time as number))}`),
    );
    // A device's minute with a point not closed is read from that device's points of the minute.
    const unclosed = new Set<number>();
    const unclosedByDevice = new Set<string>();
    for (const { d, row } of rows)
      if (typeof row.c !== 'string') {
        const minute = rollupMinute(row.time as number);
        unclosed.add(minute);
        unclosedByDevice.add(`${d}|${minute}`);
      }
    const opening = this.minutes.readUnclosed(pseudonym, { ...query, types: [...wanted] }, unclosed);
    opening.catch(() => {}); // awaited below; not an unhandled rejection if a rollup fails first
    const hours = new Map<string, ComputedHour>();
    for (const { d, row } of rows) {
      const minute = rollupMinute(row.time as number);
      if (unclosedByDevice.has(`${d}|${minute}`)) continue;
      const hour = hourOf(minute);
      const { stats } = openRollupStats(this.keyring, query.patientId, {
        time: row.time as number,
        d,
        s: pseudonym,
        sealed: row.c as string,
        k: row.k as number,
      });
      const key = `${d}|${hour}`;
      let into = hours.get(key);
      if (!into) hours.set(key, (into = { d, hour, points: 0, stats: {}, minutes: new Map() }));
      into.points += 1;
      let ofMinute = into.minutes.get(minute);
      if (!ofMinute) into.minutes.set(minute, (ofMinute = {}));
      for (const [type, s] of Object.entries(stats) as [ReadingType, MinuteStats[ReadingType]][]) {
        mergeStats((into.stats[type] ??= { count: 0 }), s!);
        mergeStats((ofMinute[type] ??= { count: 0 }), s!);
      }
    }
    const points = (await opening).filter((p) =>
      unclosedByDevice.has(`${p.deviceId}|${Math.floor(p.ts / MINUTE_MS) * MINUTE_MS}`),
    );
    const notClosed = new Set(
      [...unclosedByDevice].map((k) => {
        const at = k.lastIndexOf('|');
        return `${k.slice(0, at)}|${hourOf(Number(k.slice(at + 1)))}`;
      }),
    );
    const ended = Math.floor(this.now() / HOUR_MS) * HOUR_MS;
    const lines: string[] = [];
    for (const { d, hour, points: n, stats, minutes } of hours.values()) {
      if (hour >= ended || notClosed.has(`${d}|${hour}`)) continue;
      try {
        lines.push(
          sealHourRollup(this.keyring, { deviceId: d, patientId: query.patientId }, hour, {
            minutePoints: n,
            stats,
            minuteSums: hourMinuteSums(hour, minutes),
          }),
        );
      } catch {
        this.failedWrites += 1; // read from its minutes next time too
      }
    }
    return { hours: [...hours.values()], unclosed: points, lines };
  }
}

/** One device's hour as read from its minutes. */
interface ComputedHour {
  d: string;
  hour: number;
  /** Minute rollup points merged. */
  points: number;
  stats: MinuteStats;
  /** The statistics of each of its minutes (minute start ms). */
  minutes: Map<number, MinuteStats>;
}

function wantedTypes(query: TelemetryQuery): Set<ReadingType> {
  return new Set<ReadingType>(query.types && query.types.length > 0 ? query.types : READING_TYPES);
}

function hourOf(ts: number): number {
  return Math.floor(ts / HOUR_MS) * HOUR_MS;
}

/** Adds the wanted types of one hour's statistics into `out`. */
function addWanted(
  out: StatsByType,
  stats: MinuteStats,
  hour: number,
  wanted: ReadonlySet<ReadingType>,
): void {
  for (const [type, s] of Object.entries(stats) as [ReadingType, MinuteStats[ReadingType]][]) {
    if (!s || !wanted.has(type)) continue;
    let byHour = out.get(type);
    if (!byHour) out.set(type, (byHour = new Map()));
    const into = byHour.get(hour);
    if (into) mergeStats(into, s);
    else byHour.set(hour, { ...s, ...copyComponents(s) });
  }
}

function copyComponents(s: NonNullable<MinuteStats[ReadingType]>) {
  return {
    ...(s.value ? { value: { ...s.value } } : {}),
    ...(s.systolic ? { systolic: { ...s.systolic } } : {}),
    ...(s.diastolic ? { diastolic: { ...s.diastolic } } : {}),
  };
}

/** Runs of consecutive hours, as inclusive ms ranges. */
function hourRuns(hours: Iterable<number>): [number, number][] {
  const runs: [number, number][] = [];
  for (const hour of [...hours].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && last[1] === hour - 1) last[1] = hour + HOUR_MS - 1;
    else runs.push([hour, hour + HOUR_MS - 1]);
  }
  return runs;
}
