// What the API needs from the rest of the hub, as small ports the hub wires (ingest's reading
// bus, the broker, the checks engine). The API never reaches into those components itself.
import type { ReadingType } from '../core/domain.js';
import type { AlertRecord } from '../core/store/ingest-state.js';
import type { ReadingStats, ReadingSums } from '../ingest/reading-stats.js';

/** One decrypted reading of a patient. `reading` is the stored reading without PHI tags. */
export interface TelemetryPoint {
  ts: number;
  deviceId: string;
  type: ReadingType;
  /** The reading's values: `{ value, unit }`, `{ systolic, diastolic, unit }`, `{ samples, sampleRateHz, unit }`, `{ lat, lon }`. */
  values: Record<string, unknown>;
}

export interface TelemetryQuery {
  patientId: string;
  /** Inclusive, epoch ms. */
  from: number;
  /** Inclusive, epoch ms. */
  to: number;
  types?: readonly ReadingType[] | undefined;
  /** Most recent points first are not needed: points come oldest first, at most `limit`. */
  limit?: number | undefined;
}

/** Reads and decrypts a patient's stored series (InfluxDB through the patient's data key). */
export interface TelemetryReader {
  read(query: TelemetryQuery): Promise<TelemetryPoint[]>;
  /**
   * The first minute (epoch ms) from which every stored reading is covered by a one-minute
   * rollup; undefined when the store keeps no rollups.
   */
  rollupsSince?(): number | undefined;
  /**
   * Statistics per type and minute start of the patient's readings, from the one-minute rollups
   * (and, for minutes whose rollups are not closed yet, from the points). `from` and `to + 1` are
   * whole minutes, not before `rollupsSince()`. `limit` is not used.
   */
  readMinuteStats?(query: TelemetryQuery): Promise<Map<ReadingType, Map<number, ReadingStats>>>;
  /**
   * The same per hour start, from hourly rollups where they stand for their hour and from the
   * minutes elsewhere. `from` and `to + 1` are whole hours, not before `rollupsSince()`.
   */
  readHourStats?(query: TelemetryQuery): Promise<Map<ReadingType, Map<number, ReadingStats>>>;
  /**
   * The sums (what a mean needs) per type and minute start, as `readMinuteStats` would give them,
   * read from the hourly rollups' minute sums where they stand: for long ranges judged minute by
   * minute (a 90-day report). `from` and `to + 1` are whole minutes, not before `rollupsSince()`.
   */
  readMinuteSums?(query: TelemetryQuery): Promise<Map<ReadingType, Map<number, ReadingSums>>>;
}

export type LiveEvent =
  | { kind: 'reading'; patientId: string | null; point: TelemetryPoint }
  | { kind: 'alert'; patientId: string | null; change: 'raised' | 'cleared'; alert: AlertRecord };

/** New readings and alert changes as ingest accepts them, in this process. */
export interface LiveFeed {
  subscribe(listener: (event: LiveEvent) => void): () => void;
}

/** One dependency `/readyz` reports on (InfluxDB, the spool, the broker). */
export interface ReadinessProbe {
  name: string;
  /** True when ready; a short PHI-free reason otherwise. */
  check(): Promise<true | string> | true | string;
}

/** The deployment checks (SPEC §7): the latest report and an on-demand run. */
export interface ChecksService {
  latest(): unknown;
  run(actor: string): Promise<unknown>;
}

/** Ends a device's live MQTT session (the broker), so a new patient binding applies at once. */
export interface DeviceSessionKicker {
  kick(deviceId: string, cause: string): unknown;
}

/** What the broker knows of a device now: a live session, and when and from where it was last seen. */
export interface DeviceActivity {
  connected: boolean;
  /** Epoch ms of the last connect or message, null when never seen since the hub started. */
  lastSeen: number | null;
  /** The source address of that connect or message (devices.read only; never a metric label). */
  lastSourceAddress: string | null;
}

export interface DeviceActivityPort {
  activityOf(deviceId: string): DeviceActivity;
}

/** Signed commands to a connected device (the hub's command publisher, which audits each). */
export interface DeviceCommandPort {
  send(
    deviceId: string,
    type: 'ping' | 'config',
    params: Record<string, unknown>,
    actor: string,
    options: { ttlMs: number },
  ): Promise<{ command: { id: string }; outcome: CommandAnswer; detail?: string }>;
}

export type CommandAnswer = 'acked' | 'rejected' | 'expired' | 'not_connected';
