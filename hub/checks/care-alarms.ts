// Whether the alarms reach people (docs/ALERTS.md): no device bound to a patient is silent past
// its cadence without a data_missing alarm open, and the VAPID key Web Push is signed with is
// not older than policy.
import { EXPECTED_CADENCE_S } from '../../care/device-watch.js';
import { AlertParameterRepository } from '../../core/store/alert-settings.js';
import { DeviceReadingRepository } from '../../core/store/device-readings.js';
import { PushRepository } from '../../core/store/push.js';
import { fail, listIds, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
/** The device watch checks every 5 s; a minute of slack keeps the check from racing it. */
export const SILENCE_MARGIN_MS = 60_000;

export const silenceRaisesAlarm: DeploymentCheck = {
  id: 'VG-CARE-004',
  title: 'Every device silent past its cadence has a missing-data alarm open',
  severity: 'high',
  verifies:
    'No active device bound to a patient has sent nothing for longer than its expected cadence (per kind, or the patient’s own) without an open data_missing alert.',
  how: 'Compares each bound device’s last reading (as the hub’s device watch stored it, else when the watch or the device started) with its cadence, and looks for its open data_missing alert. Device ids and minutes only.',
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(b) Audit controls',
    deviceDefender: 'Detect: disconnect and silence behaviors',
  },
  run({ store, now }) {
    const devices = store.devices.list({ status: 'active' }).filter((d) => d.patientId !== null);
    if (devices.length === 0) return notApplicable('no active device is bound to a patient');
    const readings = new DeviceReadingRepository(store.db);
    const last = readings.lastReadings();
    const watchStart = readings.watchStartedAt();
    const parameters = new AlertParameterRepository(store.db);
    const alarmed = new Set(
      store.alerts
        .active()
        .filter((a) => a.rule === 'data_missing')
        .map((a) => a.deviceId),
    );
    const silent: string[] = [];
    for (const d of devices) {
      const cadenceS =
        parameters.forPatient(d.patientId!).get('data_missing')?.get(d.kind) ?? EXPECTED_CADENCE_S[d.kind];
      if (!Number.isFinite(cadenceS)) continue;
      // As the watch counts: from the last reading, or from its start (a device gets its full
      // cadence after a restart); a watch that never ran leaves only the device's own history.
      const heard = last.get(d.id);
      const since =
        heard === undefined && watchStart === undefined ? d.updatedAt : Math.max(heard ?? 0, watchStart ?? 0);
      if (now - since > cadenceS * 1000 + SILENCE_MARGIN_MS && !alarmed.has(d.id))
        silent.push(`${d.id} (${Math.round((now - since) / 60_000)} min)`);
    }
    if (silent.length === 0)
      return pass(`${devices.length} bound device(s): none silent past its cadence without an alarm`);
    return fail(
      `silent past their cadence with no data_missing alarm open: ${listIds(silent)}`,
      'Check that the hub is running (its device watch raises the alarm); an alarm a clinician resolved is not raised again until the device is heard: call the patient or check the device.',
    );
  },
};

export const vapidKeyFresh: DeploymentCheck = {
  id: 'VG-CARE-005',
  title: 'The Web Push VAPID key is not older than policy',
  severity: 'medium',
  verifies:
    'The VAPID key that signs Web Push notifications is younger than VITALGATE_VAPID_KEY_MAX_AGE_DAYS (warn in its last 30 days).',
  how: 'Reads when the VAPID key in use was made; the key itself is not opened.',
  references: { owasp: 'Interface/central station security', hipaa: '164.312(e)(1) Transmission security' },
  run({ store, now, config }) {
    const key = new PushRepository(store.db).currentVapidKey();
    if (!key) return notApplicable('no VAPID key yet: no browser has subscribed to notifications');
    const ageDays = Math.floor((now - key.createdAt) / DAY);
    const max = config.vapidKeyMaxAgeDays;
    const evidence = `VAPID key ${key.id} is ${ageDays} day(s) old (policy: at most ${max})`;
    const remediation =
      'Run `vitalgate push keys --rotate`; every clinician then enables notifications again in the console.';
    if (ageDays > max) return fail(evidence, remediation);
    if (ageDays > max - 30) return warn(evidence, remediation);
    return pass(evidence);
  },
};
