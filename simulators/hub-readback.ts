// What the hub did, read back from the hub rather than assumed: its Prometheus metrics (served to
// loopback by default, no login), and, where the simulator may see them, its records (security
// events, device status, dead letters, alerts) through the operator's data dir or an admin
// session. A source that cannot be reached answers undefined, and the report says "unobserved".
import type { HubApi } from './hub-api.js';

/** Prometheus samples: `name{label="value",...}` (labels sorted) -> value. */
export type MetricSamples = ReadonlyMap<string, number>;

export interface HubSecurityEvent {
  kind: string;
  deviceId: string | null;
  at: number;
  details: Record<string, unknown> | null;
}

export interface HubAlert {
  rule: string;
  deviceId: string;
  patientId: string | null;
  raisedAt: number;
}

export interface HubReadback {
  /** Where the records come from, for the report. */
  readonly source: string;
  metrics(): Promise<MetricSamples | undefined>;
  securityEvents?(deviceId: string, since: number): Promise<HubSecurityEvent[] | undefined>;
  deviceStatus?(deviceId: string): Promise<string | undefined>;
  deadLetters?(deviceId: string, since: number): Promise<string[] | undefined>;
  alerts?(since: number): Promise<HubAlert[] | undefined>;
}

/** Parses the Prometheus text format (counters and gauges; histograms come out as their series). */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = [...(match[3] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`)
      .sort();
    const value = Number(match[4]);
    if (Number.isFinite(value)) samples.set(metricKey(match[1]!, labels), value);
  }
  return samples;
}

function metricKey(name: string, labels: string[]): string {
  return labels.length === 0 ? name : `${name}{${labels.join(',')}}`;
}

/** The key of one series, e.g. series('m', { reason: 'X' }) -> m{reason="X"}. */
export function series(name: string, labels: Record<string, string> = {}): string {
  return metricKey(
    name,
    Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .sort(),
  );
}

/**
 * How much one counter grew between two scrapes. A series that appeared counts from 0; one that
 * went down was reset (the hub restarted), so all of its value is growth since.
 */
export function growth(before: MetricSamples, after: MetricSamples, key: string): number {
  return counterGrowth(before.get(key), after.get(key) ?? 0);
}

function counterGrowth(before: number | undefined, after: number): number {
  return before === undefined || after < before ? after : after - before;
}

/** The series of `name` that grew, by the value of `label`: e.g. dead letters by reason. */
export function growthBy(
  before: MetricSamples,
  after: MetricSamples,
  name: string,
  label: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  const pattern = new RegExp(`^${name}\\{(?:.*,)?${label}="([^"]*)"`);
  for (const [key, value] of after) {
    const match = pattern.exec(key);
    if (!match) continue;
    const delta = counterGrowth(before.get(key), value);
    if (delta > 0) out[match[1]!] = (out[match[1]!] ?? 0) + delta;
  }
  return out;
}

/** The hub's /metrics over HTTPS (the API answers it to its metrics networks, loopback by default). */
export class MetricsReadback implements HubReadback {
  readonly source = 'metrics';

  constructor(private readonly api: HubApi) {}

  async metrics(): Promise<MetricSamples | undefined> {
    try {
      const response = await this.api.send('GET', '/metrics');
      return response.status === 200 ? parseMetrics(response.text) : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Metrics from one source, records from another (a data dir or an admin session). */
export class CombinedReadback implements HubReadback {
  readonly source: string;

  constructor(
    private readonly numbers: HubReadback,
    private readonly records: Omit<HubReadback, 'metrics'> | undefined,
  ) {
    this.source = records ? `${numbers.source}+${records.source}` : numbers.source;
  }

  metrics(): Promise<MetricSamples | undefined> {
    return this.numbers.metrics();
  }

  securityEvents(deviceId: string, since: number): Promise<HubSecurityEvent[] | undefined> {
    return this.records?.securityEvents?.(deviceId, since) ?? Promise.resolve(undefined);
  }

  deviceStatus(deviceId: string): Promise<string | undefined> {
    return this.records?.deviceStatus?.(deviceId) ?? Promise.resolve(undefined);
  }

  deadLetters(deviceId: string, since: number): Promise<string[] | undefined> {
    return this.records?.deadLetters?.(deviceId, since) ?? Promise.resolve(undefined);
  }

  alerts(since: number): Promise<HubAlert[] | undefined> {
    return this.records?.alerts?.(since) ?? Promise.resolve(undefined);
  }
}

/** No readback at all: every fault is reported as unobserved. */
export const NO_READBACK: HubReadback = {
  source: 'none',
  metrics: () => Promise.resolve(undefined),
};
