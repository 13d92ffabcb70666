// Device alarms: `data_missing` when a device bound to a patient has sent nothing for longer
// than its kind's expected cadence (a wearable streams; a cuff or a scale reports once or twice
// a day; overridable per patient), and `device_battery_low` when its status says the battery is
// low. Both clear by themselves: the first reading from the device, a battery back above the
// clearing level. Silence is measured from the last reading this hub saw, or from the hub's
// start (a device is given its full cadence after a restart). `tick()` is called by the hub on a
// timer and by tests with an injectable clock.
import type { DeviceKind } from '../core/domain.js';
import type { Logger } from '../core/logger.js';
import { describeError } from '../core/errors.js';
import { AlertParameterRepository } from '../core/store/alert-settings.js';
import { DeviceReadingRepository } from '../core/store/device-readings.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { AlertBus, DeviceStatusEvent, LiveReading } from '../ingest/alerts.js';

/** Expected seconds between readings, per device kind (a day's reports get a 2 h margin). */
export const EXPECTED_CADENCE_S: Readonly<Record<DeviceKind, number>> = {
  wearable: 5 * 60,
  pulse_oximeter: 60 * 60,
  bp_monitor: 26 * 3_600,
  glucometer: 26 * 3_600,
  weight_scale: 26 * 3_600,
  thermometer: 26 * 3_600,
  // A gateway relays its devices' readings under their ids: its own silence is not a reading's.
  gateway: Number.POSITIVE_INFINITY,
};

/** Battery fraction at or below which the alarm is raised, and above which it clears. */
export const BATTERY_LOW = 0.15;
export const BATTERY_CLEAR = 0.25;

export const DEVICE_ALARM_SEVERITY = 'low';

type Rule = 'data_missing' | 'device_battery_low';

export interface DeviceWatchDeps {
  store: ControlPlane;
  bus: AlertBus;
  now?: () => number;
  logger?: Logger;
}

export class DeviceWatch {
  private readonly lastHeard = new Map<string, number>();
  /** Heard since the last tick: stored then, for VG-CARE-004 (not on the reading path). */
  private readonly unsaved = new Map<string, number>();
  private readonly readings: DeviceReadingRepository;
  /** `deviceId|rule` → open alert id */
  private readonly open = new Map<string, number>();
  private readonly parameters: AlertParameterRepository;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly onReading = (e: LiveReading) => this.guard(() => this.heard(e.deviceId, e.ts));
  private readonly onStatus = (e: DeviceStatusEvent) => this.guard(() => this.status(e));

  constructor(private readonly deps: DeviceWatchDeps) {
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.parameters = new AlertParameterRepository(deps.store.db);
    this.readings = new DeviceReadingRepository(deps.store.db);
    this.readings.watchStarted(this.startedAt);
    for (const a of deps.store.alerts.active())
      if (a.rule === 'data_missing' || a.rule === 'device_battery_low')
        this.open.set(`${a.deviceId}|${a.rule}`, a.id);
    deps.bus.on('reading', this.onReading);
    deps.bus.on('status', this.onStatus);
  }

  close(): void {
    this.deps.bus.off('reading', this.onReading);
    this.deps.bus.off('status', this.onStatus);
  }

  /** A listener on the ingest's bus must never fail the message that fed it. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.logger?.error({ err: describeError(err) }, 'device alarm update failed');
    }
  }

  /** The expected cadence of a device of `kind` for a patient, in seconds. */
  cadenceS(patientId: string, kind: DeviceKind): number {
    return this.parameters.forPatient(patientId).get('data_missing')?.get(kind) ?? EXPECTED_CADENCE_S[kind];
  }

  private heard(deviceId: string, _readingTs: number): void {
    // Arrival time, not the reading's own time: a store-and-forward batch proves the device is back.
    this.lastHeard.set(deviceId, this.now());
    this.unsaved.set(deviceId, this.now());
    this.clear(deviceId, 'data_missing');
  }

  private status(e: DeviceStatusEvent): void {
    if (!(e.battery >= 0)) return;
    if (e.battery <= BATTERY_LOW && e.patientId) this.raise(e.deviceId, e.patientId, 'device_battery_low');
    else if (e.battery > BATTERY_CLEAR) this.clear(e.deviceId, 'device_battery_low');
  }

  private raise(deviceId: string, patientId: string, rule: Rule): void {
    const key = `${deviceId}|${rule}`;
    if (this.open.has(key)) return;
    const alert = this.deps.store.alerts.raise({
      patientId,
      deviceId,
      rule,
      severity: DEVICE_ALARM_SEVERITY,
    });
    this.open.set(key, alert.id);
    this.deps.logger?.info({ alertId: alert.id, rule, device: deviceId }, 'device alarm raised');
    this.deps.bus.emit('alert', { type: 'raised', alert });
  }

  private clear(deviceId: string, rule: Rule): void {
    const key = `${deviceId}|${rule}`;
    const id = this.open.get(key);
    if (id === undefined) return;
    this.open.delete(key);
    const before = this.deps.store.alerts.get(id);
    if (!before || before.clearedAt !== null) return; // resolved by a clinician meanwhile
    const alert = this.deps.store.alerts.clear(id);
    if (alert) this.deps.bus.emit('alert', { type: 'cleared', alert });
  }

  /** Raises `data_missing` for every bound, active device silent past its cadence. */
  tick(): number {
    const now = this.now();
    if (this.unsaved.size > 0) {
      this.readings.record(this.unsaved);
      this.unsaved.clear();
    }
    let raised = 0;
    for (const device of this.deps.store.devices.list({ status: 'active' })) {
      if (!device.patientId) continue;
      const since = this.lastHeard.get(device.id) ?? this.startedAt;
      if (now - since <= this.cadenceS(device.patientId, device.kind) * 1000) continue;
      if (this.open.has(`${device.id}|data_missing`)) {
        // A clinician resolved it while the device stays silent: nothing new until it is heard.
        continue;
      }
      this.raise(device.id, device.patientId, 'data_missing');
      raised += 1;
    }
    return raised;
  }
}
