// Fleet checks: silent devices and enrollments that were never completed.
import { fail, listIds, pass, warn, type CheckContext, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;

/**
 * Active devices not heard from for longer than `windowMs`: no live session, and no successful
 * connect in the audit log (or, for a device that never connected, no change) since.
 */
function unheardDevices(ctx: CheckContext, windowMs: number): { id: string; minutes: number }[] {
  const { store, now, live } = ctx;
  const connected = new Set((live?.liveSessions() ?? []).map((s) => s.deviceId));
  // A Bluetooth device relayed by a gateway is heard when its gateway is (docs/GATEWAYS.md).
  return store.devices
    .list({ status: 'active' })
    .map((d) => ({ ...d, via: store.gatewayBindings.ofDevice(d.id)?.gatewayId ?? d.id }))
    .filter((d) => !connected.has(d.via))
    .map((d) => {
      const last = store.audit.list({
        action: 'broker.connect',
        target: `device:${d.via}`,
        outcome: 'success',
        limit: 1,
      })[0];
      return { id: d.id, minutes: Math.round((now - (last?.at ?? d.updatedAt)) / 60_000) };
    })
    .filter((d) => d.minutes * 60_000 > windowMs);
}

export const silentDevices: DeploymentCheck = {
  id: 'VG-DEV-004',
  title: 'No active device has gone silent',
  severity: 'medium',
  verifies:
    'Every active device connected within VITALGATE_DEVICE_SILENT_MINUTES (a monitor that stopped reporting is also a clinical risk).',
  how: 'Finds the last successful broker connection of each active device in the audit log, and its live session if any.',
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(b) Audit controls',
    deviceDefender: 'Detect: disconnect and silence behaviors',
  },
  run(ctx) {
    const { config } = ctx;
    const silent = unheardDevices(ctx, config.deviceSilentMinutes * 60_000).map(
      (d) => `${d.id} (${d.minutes} min)`,
    );
    return silent.length
      ? warn(
          `silent devices: ${listIds(silent)}`,
          'Call the patient or check the device; disable it if it was retired.',
        )
      : pass(`every active device was heard from within ${config.deviceSilentMinutes} minutes`);
  },
};

export const expiredPendingEnrollments: DeploymentCheck = {
  id: 'VG-DEV-005',
  title: 'No pending enrollment is stuck with an expired token',
  severity: 'low',
  verifies: 'Devices still pending enrollment have a token that has not expired.',
  how: 'Lists pending devices whose newest enrollment token expired unspent.',
  references: { owasp: 'Purchasing controls', hipaa: '164.312(a)(1) Access control' },
  run({ store, now }) {
    const expired = store.enrollmentTokens.listExpiredUnspent(now).map((t) => t.deviceId);
    const stuck = [...new Set(expired)].filter(
      (id) => store.devices.get(id)?.status === 'pending' && !store.enrollmentTokens.hasUsable(id, now),
    );
    return stuck.length
      ? warn(
          `pending devices with expired tokens: ${listIds(stuck)}`,
          'Issue a new token (vitalgate device token ID) or remove the device.',
        )
      : pass('no pending device has only expired tokens');
  },
};

export const staleDevices: DeploymentCheck = {
  id: 'VG-DEV-006',
  title: 'Retired devices are not left active',
  severity: 'low',
  verifies: 'No active device has been silent for more than 30 days.',
  how: 'Same data as VG-DEV-004, with a 30-day window.',
  references: { owasp: 'Device security controls', hipaa: '164.312(a)(1) Access control' },
  run(ctx) {
    const stale = unheardDevices(ctx, 30 * DAY).map((d) => d.id);
    return stale.length
      ? fail(
          `active but unseen for 30 days: ${listIds(stale)}`,
          'Disable or revoke devices that are no longer in use.',
        )
      : pass('no active device unseen for 30 days');
  },
};

export const FLEET_CHECKS: DeploymentCheck[] = [silentDevices, expiredPendingEnrollments, staleDevices];
