// Certificates nearing their end are renewed before they lapse: every active device whose current
// certificate is inside the renewal window was sent a rotate-cert (hub/certificate-renewal.ts).
import { renewalWindowDays } from '../../core/config.js';
import { CertificateRotationRepository } from '../../core/store/certificate-rotations.js';
import { fail, listIds, notApplicable, pass, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;

export const renewalPrompted: DeploymentCheck = {
  id: 'VG-DEV-007',
  title: 'Devices inside the renewal window were sent rotate-cert',
  severity: 'medium',
  verifies:
    'Every active device whose certificate ends within VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS was sent a signed rotate-cert for it.',
  how: 'Compares each active device’s current certificate end with the window, and looks up the rotate-cert the hub recorded for that certificate.',
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(d) Person or entity authentication',
    deviceDefender: 'Audit: device certificate expiring',
  },
  run({ config, store, now }) {
    const windowDays = renewalWindowDays(config);
    if (windowDays === 0)
      return notApplicable('the renewal window is 0 days (device certificates under 3 days)');
    const rotations = new CertificateRotationRepository(store.db);
    const due: string[] = [];
    let prompted = 0;
    for (const device of store.devices.list({ status: 'active' })) {
      const certificate = device.currentSerial ? store.certificates.get(device.currentSerial) : undefined;
      if (certificate?.status !== 'active' || certificate.notAfter - now > windowDays * DAY) continue;
      if (rotations.get(certificate.serial)) prompted += 1;
      else due.push(`${device.id} (${Math.max(0, Math.floor((certificate.notAfter - now) / DAY))} d left)`);
    }
    return due.length
      ? fail(
          `inside the ${windowDays}-day renewal window with no rotate-cert sent: ${listIds(due)}`,
          'The hub sends rotate-cert when the device connects; bring these devices online, or re-enroll them with a new token (vitalgate device token ID) before the certificates lapse.',
        )
      : pass(
          prompted
            ? `${prompted} device(s) inside the ${windowDays}-day renewal window, each sent rotate-cert`
            : `no active device's certificate ends within ${windowDays} days`,
        );
  },
};
