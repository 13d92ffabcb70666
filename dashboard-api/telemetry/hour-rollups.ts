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
  openHourRollup,
  sealHourRollup,
} from '../../ingest/hour-rollup-sealing.js';
import { mergeStats } from '../../ingest/reading-stats.js';
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
    const { patientId, from, to } = query;
    const pseudonym = pseudonymFor(this.keyring, patientId);
    const wanted = new Set<ReadingType>(query.types && query.types.length > 0 ? query.types : READING_TYPES);
    const end = Math.trunc(to) + 1;
    const range = `s = $s AND time >= ${Math.trunc(from)}ms AND time < ${end}ms`;
    const [hourSeries, countSeries] = await Promise.all([
      this.influx.query(`SELECT c, k FROM ${HOUR_ROLLUP_MEASUREMENT} WHERE ${range} GROUP BY d`, {
        s: pseudonym,
      }),
      this.influx.query(
        `SELECT count(o) AS n, count(c) AS closed FROM ${ROLLUP_MEASUREMENT} WHERE ${range} GROUP BY time(1h), d fill(none)`,
        { s: pseudonym },
      ),
    ]);
    const stored = new Map<string, { sealed: string; k: number }>();
    for (const s of hourSeries)
      for (const row of s.rows)
        if (typeof row.c === 'string' && typeof row.k === 'number')
          stored.set(`${s.tags.d ?? ''}|${row.time as number}`, { sealed: row.c, k: row.k });
    const out: StatsByType = new Map();
    const todo = new Set<string>();
    const todoHours = new Set<number>();
    for (const s of countSeries) {
      const d = s.tags.d ?? '';
      for (const row of s.rows) {
        const hour = row.time as number;
        const n = row.n as number;
        if (!(n > 0)) continue;
        const point = stored.get(`${d}|${hour}`);
        if (point && row.closed === n) {
          const rollup = openHourRollup(this.keyring, patientId, { time: hour, d, s: pseudonym, ...point });
          if (rollup.minutePoints === n) {
            addWanted(out, rollup.stats, hour, wanted);
            continue;
          }
        }
        todo.add(`${d}|${hour}`);
        todoHours.add(hour);
      }
    }
    const runs = hourRuns(todoHours);
    const lines: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < runs.length) {
        const [a, b] = runs[next++]!;
        lines.push(...(await this.fromMinutes(out, { ...query, from: a, to: b }, pseudonym, wanted, todo)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(HOUR_RUN_CONCURRENCY, runs.length) }, worker));
    if (lines.length > 0)
      await this.influx.writeLines(lines, { precision: 'n' }).catch(() => {
        this.failedWrites += 1;
      });
    return out;
  }

  /**
   * Adds the hours of [from, to] that are in `todo` (device|hour) from their minutes, and
   * returns the hourly lines of those that ended with every minute closed.
   */
  private async fromMinutes(
    out: StatsByType,
    query: TelemetryQuery,
    pseudonym: string,
    wanted: ReadonlySet<ReadingType>,
    todo: ReadonlySet<string>,
  ): Promise<string[]> {
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
    const hours = new Map<string, { d: string; hour: number; points: number; stats: MinuteStats }>();
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
      if (!into) hours.set(key, (into = { d, hour, points: 0, stats: {} }));
      into.points += 1;
      for (const [type, s] of Object.entries(stats) as [ReadingType, MinuteStats[ReadingType]][])
        mergeStats((into.stats[type] ??= { count: 0 }), s!);
    }
    const points = (await opening).filter((p) =>
      unclosedByDevice.has(`${p.deviceId}|${Math.floor(p.ts / MINUTE_MS) * MINUTE_MS}`),
    );
    addPoints(out, points, HOUR_MS);
    const notClosed = new Set(
      [...unclosedByDevice].map((k) => {
        const at = k.lastIndexOf('|');
        return `${k.slice(0, at)}|${hourOf(Number(k.slice(at + 1)))}`;
      }),
    );
    const ended = Math.floor(this.now() / HOUR_MS) * HOUR_MS;
    const lines: string[] = [];
    for (const { d, hour, points: n, stats } of hours.values()) {
      addWanted(out, stats, hour, wanted);
      if (hour >= ended || notClosed.has(`${d}|${hour}`)) continue;
      try {
        lines.push(
          sealHourRollup(this.keyring, { deviceId: d, patientId: query.patientId }, hour, {
            minutePoints: n,
            stats,
          }),
        );
      } catch {
        this.failedWrites += 1; // read from its minutes next time too
      }
    }
    return lines;
  }
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
