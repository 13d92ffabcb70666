// What a fleet run reports: live progress (a one-line bar on a TTY) and the final summary (text
// or JSON). PUBACK latencies are kept as a bounded uniform sample, so a run of any length keeps
// honest percentiles in constant memory.
import type { FaultReport } from './faults.js';

/** A uniform sample of at most `capacity` values (reservoir sampling), for percentiles. */
export class LatencySample {
  private readonly values: number[] = [];
  private seen = 0;
  private max = 0;

  constructor(
    private readonly capacity = 50_000,
    private readonly random: () => number = Math.random,
  ) {}

  add(value: number): void {
    this.seen += 1;
    if (value > this.max) this.max = value;
    if (this.values.length < this.capacity) this.values.push(value);
    else {
      const i = Math.floor(this.random() * this.seen);
      if (i < this.capacity) this.values[i] = value;
    }
  }

  get count(): number {
    return this.seen;
  }

  /** Nearest-rank percentiles, ms, rounded to 0.1 ms; null before the first value. */
  summary(): LatencySummary | null {
    if (this.seen === 0) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    const rank = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
    const round = (v: number) => Math.round(v * 10) / 10;
    return {
      count: this.seen,
      p50: round(rank(50)),
      p90: round(rank(90)),
      p99: round(rank(99)),
      max: round(this.max),
    };
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface FleetProgress {
  elapsedS: number;
  durationS: number | undefined;
  devices: number;
  online: number;
  sent: number;
  acked: number;
  buffered: number;
  refused: number;
  faultsDone: number;
  faultsTotal: number;
}

export interface FleetSummary {
  devices: {
    planned: number;
    enrolled: number;
    failed: { deviceId: string; code: string }[];
    byKind: Record<string, number>;
    /** At the end of the run. */
    online: number;
    disabled: number;
    wiped: number;
  };
  durationS: number;
  /** Telemetry messages: put into the outboxes, acknowledged (each seq once), still buffered. */
  messages: {
    sent: number;
    acked: number;
    resent: number;
    buffered: number;
    bufferedPeak: number;
    dropped: number;
  };
  readings: { sent: number; acked: number; buffered: number; dropped: number };
  /** Connects the hub turned away, as the devices saw them. */
  refused: { connects: number; byCode: Record<string, number> };
  /** Connects beyond each device's first. */
  reconnects: number;
  /** Publish to PUBACK, per message. */
  latencyMs: LatencySummary | null;
  commands: { done: number; rejected: number; ignored: number };
  /** Alerts the hub raised for the fleet's devices during the run, by rule; what the scenario expects. */
  alerts: { scenario: string | null; expected: string[]; seen: Record<string, number>; source: string };
  /** What the hub's metrics say happened during the run (growth of each family), if reachable. */
  hub: {
    source: string;
    readingsAccepted: number;
    deadLetters: Record<string, number>;
    duplicates: Record<string, number>;
    connectionRefusals: Record<string, number>;
    authorizationFailures: Record<string, number>;
  } | null;
  faults: FaultReport[];
}

const fmt = (n: number) => n.toLocaleString('en-US');

export function renderProgress(p: FleetProgress, width = 24): string {
  const share = p.durationS ? Math.min(1, p.elapsedS / p.durationS) : undefined;
  const bar = share === undefined ? '' : `[${'#'.repeat(Math.round(share * width)).padEnd(width, '.')}] `;
  const time = p.durationS ? `${Math.floor(p.elapsedS)}/${p.durationS} s` : `${Math.floor(p.elapsedS)} s`;
  const faults = p.faultsTotal ? `  faults ${p.faultsDone}/${p.faultsTotal}` : '';
  return (
    `${bar}${time}  online ${p.online}/${p.devices}  sent ${fmt(p.sent)}  acked ${fmt(p.acked)}` +
    `  buffered ${fmt(p.buffered)}  refused ${fmt(p.refused)}${faults}`
  );
}

const pairs = (record: Record<string, number>) =>
  Object.entries(record)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ') || 'none';

export function renderSummary(s: FleetSummary): string[] {
  const lines = [
    `devices    ${s.devices.enrolled}/${s.devices.planned} enrolled (${pairs(s.devices.byKind)}), ${s.devices.online} online at the end` +
      (s.devices.failed.length
        ? `, ${s.devices.failed.length} failed: ${s.devices.failed.map((f) => `${f.deviceId} ${f.code}`).join(', ')}`
        : ''),
    `run        ${s.durationS.toFixed(1)} s`,
    `messages   sent ${fmt(s.messages.sent)}, acked ${fmt(s.messages.acked)}, buffered ${fmt(s.messages.buffered)} (peak ${fmt(s.messages.bufferedPeak)}), resent ${fmt(s.messages.resent)}, dropped ${fmt(s.messages.dropped)}`,
    `readings   sent ${fmt(s.readings.sent)}, acked ${fmt(s.readings.acked)}, buffered ${fmt(s.readings.buffered)}`,
    `refused    ${fmt(s.refused.connects)} connects (${pairs(s.refused.byCode)}); ${fmt(s.reconnects)} reconnects`,
    s.latencyMs
      ? `latency    PUBACK p50 ${s.latencyMs.p50} ms, p90 ${s.latencyMs.p90} ms, p99 ${s.latencyMs.p99} ms, max ${s.latencyMs.max} ms (${fmt(s.latencyMs.count)} messages)`
      : 'latency    no PUBACK received',
    `alerts     ${pairs(s.alerts.seen)}` +
      (s.alerts.expected.length
        ? ` (scenario ${s.alerts.scenario} expects ${s.alerts.expected.join(', ')})`
        : '') +
      ` [${s.alerts.source}]`,
  ];
  if (s.commands.done + s.commands.rejected + s.commands.ignored > 0) {
    lines.push(
      `commands   done ${s.commands.done}, rejected ${s.commands.rejected}, ignored ${s.commands.ignored}`,
    );
  }
  if (s.hub) {
    lines.push(
      `hub        readings accepted ${fmt(s.hub.readingsAccepted)}; dead letters ${pairs(s.hub.deadLetters)}; duplicates ${pairs(s.hub.duplicates)}`,
      `           connection refusals ${pairs(s.hub.connectionRefusals)}; authorization failures ${pairs(s.hub.authorizationFailures)} [${s.hub.source}]`,
    );
  } else lines.push('hub        metrics not reachable');
  for (const f of s.faults) {
    const mark = f.asExpected === true ? 'ok' : f.asExpected === false ? 'UNEXPECTED' : '--';
    lines.push(`fault      ${f.fault}: ${f.outcome} [${mark}] expected: ${f.expected}`);
    for (const line of f.device) lines.push(`             device: ${line}`);
    for (const line of f.hub) lines.push(`             hub:    ${line}`);
  }
  return lines;
}
