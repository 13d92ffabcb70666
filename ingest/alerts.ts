// Clinical alerts, evaluated on plaintext readings at intake (the spool only ever sees them
// sealed). One alert per episode: a breach must last `sustainS` before the alert is raised, and
// recovery (past a clearing threshold, not just back over the raising one) must hold for
// `clearHoldS` across at least two readings before it clears, so a value flapping around a
// threshold raises one alert, not a storm. Open alerts survive a restart: their state is
// restored from the store, so a continuing condition does not raise a second one.
import { EventEmitter } from 'node:events';
import type { Logger } from '../core/logger.js';
import type { AlertRecord, AlertRepository } from '../core/store/ingest-state.js';
import { RULES_BY_TYPE, type AlertRule, type GeoPoint } from './alert-rules.js';
import type { AlertSettings } from './alert-settings.js';
import type { Reading } from './schemas.js';

export interface AlertEvent {
  type: 'raised' | 'cleared';
  alert: AlertRecord;
}

/** An accepted reading in plaintext, for the live feed. Never leaves the process. */
export interface LiveReading {
  patientId: string | null;
  deviceId: string;
  /** ms since the epoch */
  ts: number;
  reading: Reading;
}

/** A valid status message of a device (`devices/{id}/status`), for the device alarms. */
export interface DeviceStatusEvent {
  deviceId: string;
  patientId: string | null;
  /** 0 to 1 */
  battery: number;
}

/** In-process bus of alert events, accepted readings and device status, for the API's Server-Sent Events and the care layer. */
export class AlertBus extends EventEmitter<{
  alert: [AlertEvent];
  reading: [LiveReading];
  status: [DeviceStatusEvent];
}> {
  constructor() {
    super();
    this.setMaxListeners(0); // one listener per open live stream
  }
}

interface EpisodeState {
  /** Time of the first reading of the current breach. */
  breachSince?: number | undefined;
  /** Time of the first reading of the current recovery. */
  recoverySince?: number | undefined;
  alertId?: number | undefined;
  lastTs?: number | undefined;
}

/** A sustained breach is broken by a silence longer than this (or twice the sustain time). */
const MAX_GAP_MS = 60_000;

export interface AlertEvaluatorDeps {
  alerts: AlertRepository;
  settings: AlertSettings;
  bus: AlertBus;
  logger?: Logger;
}

export class AlertEvaluator {
  private readonly states = new Map<string, EpisodeState>();

  constructor(private readonly deps: AlertEvaluatorDeps) {
    for (const alert of deps.alerts.active()) {
      if (alert.patientId) this.states.set(`${alert.patientId}|${alert.rule}`, { alertId: alert.id });
    }
    // An alert resolved by a clinician ends its episode here too: a breach that goes on (or comes
    // back) raises a new alert after the rule's sustain time, not a silent update of the old one.
    deps.bus.on('alert', (e) => {
      if (e.type !== 'cleared' || !e.alert.patientId) return;
      const key = `${e.alert.patientId}|${e.alert.rule}`;
      if (this.states.get(key)?.alertId === e.alert.id) this.states.delete(key);
    });
  }

  /** Judges one reading of a patient's device. Readings of unbound devices raise nothing. */
  evaluate(target: { deviceId: string; patientId: string | null }, reading: Reading, ts: number): void {
    const { patientId } = target;
    if (!patientId) return;
    const rules = RULES_BY_TYPE.get(reading.type);
    if (!rules) return;
    let home: GeoPoint | undefined;
    if (reading.type === 'location' && 'lat' in reading) {
      home = this.deps.settings.home(patientId);
      if (!home) {
        this.deps.settings.rememberFirstHome(patientId, { lat: reading.lat, lon: reading.lon });
        return;
      }
    }
    for (const rule of rules) this.judge(rule, target, patientId, reading, ts, home);
  }

  private judge(
    rule: AlertRule,
    target: { deviceId: string },
    patientId: string,
    reading: Reading,
    ts: number,
    home: GeoPoint | undefined,
  ): void {
    const p = this.deps.settings.parameters(patientId, rule);
    const breached = rule.breached(reading, p, { home });
    if (breached === undefined) return;
    const key = `${patientId}|${rule.id}`;
    const state = this.states.get(key) ?? {};
    // Store-and-forward batches can arrive after newer readings; they do not move an episode.
    if (state.lastTs !== undefined && ts < state.lastTs) return;
    const gap = state.lastTs === undefined ? 0 : ts - state.lastTs;
    state.lastTs = ts;
    this.states.set(key, state);
    if (state.alertId === undefined) {
      if (!breached) {
        state.breachSince = undefined;
        return;
      }
      const sustainMs = p.sustainS! * 1000;
      if (state.breachSince === undefined || (sustainMs > 0 && gap > Math.max(MAX_GAP_MS, 2 * sustainMs)))
        state.breachSince = ts;
      if (ts - state.breachSince < sustainMs) return;
      const alert = this.deps.alerts.raise({
        patientId,
        deviceId: target.deviceId,
        rule: rule.id,
        severity: rule.severity,
      });
      state.alertId = alert.id;
      state.breachSince = undefined;
      state.recoverySince = undefined;
      this.deps.logger?.info(
        { alertId: alert.id, rule: rule.id, device: target.deviceId },
        'clinical alert raised',
      );
      this.deps.bus.emit('alert', { type: 'raised', alert });
      return;
    }
    if (!rule.recovered(reading, p, { home })) {
      state.recoverySince = undefined;
      return;
    }
    if (state.recoverySince === undefined) {
      state.recoverySince = ts;
      if (p.clearHoldS! > 0) return; // at least a second recovered reading is needed
    }
    if (ts - state.recoverySince < p.clearHoldS! * 1000) return;
    const alert = this.deps.alerts.clear(state.alertId);
    this.states.delete(key);
    if (alert) this.deps.bus.emit('alert', { type: 'cleared', alert });
  }

  /** Alerts currently open per patient, as the evaluator tracks them (tests, metrics). */
  get openEpisodes(): number {
    let n = 0;
    for (const s of this.states.values()) if (s.alertId !== undefined) n += 1;
    return n;
  }
}
