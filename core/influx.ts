// A small InfluxDB 1.x client over fetch: line-protocol writes, InfluxQL queries, database and
// retention-policy setup. Raw line protocol is about three times faster here than the npm
// `influx` client (see docs/DEPENDENCIES.md). Errors carry codes and HTTP statuses, never data.
import { VitalGateError } from './errors.js';

export interface InfluxOptions {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  timeoutMs?: number;
}

/** Timestamp precision: ms, or u (microseconds; still exact as a JSON number until year 2255). */
export type Precision = 'ms' | 'u';

export interface InfluxSeries {
  name: string;
  tags: Record<string, string>;
  rows: Record<string, unknown>[];
}

/** Escapes a measurement name for line protocol. */
export function escapeMeasurement(value: string): string {
  rejectNewlines(value);
  return value.replace(/[\\, ]/g, (c) => `\\${c}`);
}

/** Escapes a tag key, tag value or field key for line protocol. */
export function escapeKey(value: string): string {
  rejectNewlines(value);
  return value.replace(/[\\,= ]/g, (c) => `\\${c}`);
}

/** A quoted string field value. */
export function stringField(value: string): string {
  rejectNewlines(value);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** An InfluxQL string literal. */
export function quoteLiteral(value: string): string {
  rejectNewlines(value);
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** An InfluxQL identifier. */
export function quoteIdentifier(value: string): string {
  rejectNewlines(value);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function rejectNewlines(value: string): void {
  if (/[\n\r]/.test(value))
    throw new VitalGateError('INFLUX_BAD_INPUT', 'line protocol values cannot contain newlines');
}

export class InfluxClient {
  readonly url: string;
  readonly database: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(options: InfluxOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.database = options.database;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.headers = {};
    if (options.username) {
      const basic = Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64');
      this.headers.authorization = `Basic ${basic}`;
    }
  }

  async ping(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/ping`, {
        signal: AbortSignal.timeout(2_000),
        headers: this.headers,
      });
      await res.arrayBuffer();
      return res.status === 204;
    } catch {
      return false;
    }
  }

  /** Writes line-protocol lines; timestamps in milliseconds unless `precision` says otherwise. */
  async writeLines(
    lines: readonly string[],
    options: { precision?: Precision; retentionPolicy?: string } = {},
  ): Promise<void> {
    if (lines.length === 0) return;
    const params = new URLSearchParams({ db: this.database, precision: options.precision ?? 'ms' });
    if (options.retentionPolicy) params.set('rp', options.retentionPolicy);
    const res = await this.request(`/write?${params}`, { method: 'POST', body: lines.join('\n') });
    if (res.status !== 204) {
      // InfluxDB's message may quote the rejected line; it is not passed on.
      await res.arrayBuffer();
      throw new VitalGateError('INFLUX_WRITE_FAILED', `InfluxDB refused the write (HTTP ${res.status})`, {
        status: res.status,
      });
    }
  }

  /** Runs InfluxQL; reads use GET, statements that change state use POST. */
  async query(
    influxql: string,
    params?: Record<string, string | number>,
    options: { epoch?: Precision } = {},
  ): Promise<InfluxSeries[]> {
    const search = new URLSearchParams({ db: this.database, q: influxql, epoch: options.epoch ?? 'ms' });
    if (params) search.set('params', JSON.stringify(params));
    const isRead = /^\s*(select|show)\b/i.test(influxql);
    const res = isRead
      ? await this.request(`/query?${search}`, { method: 'GET' })
      : await this.request('/query', {
          method: 'POST',
          body: search,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
    if (res.status !== 200) {
      const detail = await errorText(res);
      throw new VitalGateError('INFLUX_QUERY_FAILED', `InfluxDB refused the query (HTTP ${res.status})`, {
        status: res.status,
        ...(detail ? { influx: detail } : {}),
      });
    }
    const body = (await res.json()) as {
      results?: {
        error?: string;
        series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[];
      }[];
    };
    const series: InfluxSeries[] = [];
    for (const result of body.results ?? []) {
      if (result.error)
        throw new VitalGateError('INFLUX_QUERY_FAILED', `InfluxDB query error: ${result.error}`);
      for (const s of result.series ?? []) {
        series.push({
          name: s.name,
          tags: s.tags ?? {},
          rows: (s.values ?? []).map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))),
        });
      }
    }
    return series;
  }

  async createDatabase(): Promise<void> {
    await this.query(`CREATE DATABASE ${quoteIdentifier(this.database)}`);
  }

  /** Creates or alters a retention policy. */
  async ensureRetentionPolicy(
    name: string,
    durationDays: number,
    options: { default?: boolean } = {},
  ): Promise<void> {
    const existing = await this.query(`SHOW RETENTION POLICIES ON ${quoteIdentifier(this.database)}`);
    const found = existing.some((s) => s.rows.some((r) => r.name === name));
    const verb = found ? 'ALTER' : 'CREATE';
    await this.query(
      `${verb} RETENTION POLICY ${quoteIdentifier(name)} ON ${quoteIdentifier(this.database)} DURATION ${durationDays}d REPLICATION 1${options.default ? ' DEFAULT' : ''}`,
    );
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, {
        ...init,
        headers: { ...this.headers, ...(init.headers as Record<string, string> | undefined) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new VitalGateError('INFLUX_UNAVAILABLE', `InfluxDB at ${this.url} is unreachable`, {
        cause:
          err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err),
      });
    }
  }
}

async function errorText(res: Response): Promise<string | undefined> {
  try {
    const text = await res.text();
    const parsed = JSON.parse(text) as { error?: string };
    return parsed.error?.slice(0, 200);
  } catch {
    return undefined;
  }
}
