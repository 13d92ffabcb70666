// After an issuing CA rotation (vitalgate ca rotate-issuer), devices holding certificates of the
// previous issuing CA keep working only until the overlap ends; then the previous issuing CA is
// revoked and they are refused. Every one of them has to renew before that.
import { CRL_BARE_ISSUER_KEY } from '../../pki/ca-material.js';
import { fail, listIds, notApplicable, pass, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
/** How long before the overlap ends devices still on the previous issuing CA fail the check. */
export const ISSUER_OVERLAP_WARN_DAYS = 14;

export const devicesOnPreviousIssuer: DeploymentCheck = {
  id: 'VG-PKI-012',
  title: 'No device is left on the previous issuing CA when its overlap ends',
  severity: 'high',
  verifies: `No active device holds a certificate of a retired issuing CA, or of the previous one within ${ISSUER_OVERLAP_WARN_DAYS} days of the end of its overlap.`,
  how: "Compares the issuing CA of each active device's current certificate with the hub's current issuing CA and the previous one's overlap end.",
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(d) Person or entity authentication',
    deviceDefender: 'CA_CERTIFICATE_EXPIRING_CHECK',
  },
  run({ authority, store, now }) {
    if (store.meta.get(CRL_BARE_ISSUER_KEY) === undefined) {
      return notApplicable('the issuing CA was never rotated');
    }
    const behind = store.certificates.activeDevicesNotOnIssuer(authority.issuingSerial);
    const previous = authority.previousIssuer;
    const ids = listIds(behind.map((d) => d.deviceId));
    if (previous && now < previous.overlapUntil) {
      const end = new Date(previous.overlapUntil).toISOString();
      const days = Math.ceil((previous.overlapUntil - now) / DAY);
      if (behind.length === 0) {
        return pass(
          `every active device is on the current issuing CA (the previous one's overlap ends ${end})`,
        );
      }
      const evidence = `${behind.length} active device(s) still on the previous issuing CA, whose overlap ends ${end} (${days} days): ${ids}`;
      if (days > ISSUER_OVERLAP_WARN_DAYS) return pass(evidence);
      return fail(
        evidence,
        'Have these devices renew before the overlap ends (POST /api/v1/enroll/renew; the hub sends rotate-cert to connected ones), or re-enroll them with a new token. After the overlap they are refused.',
      );
    }
    if (behind.length === 0) return pass('every active device is on the current issuing CA');
    return fail(
      `${behind.length} active device(s) hold certificates of a retired issuing CA and are refused: ${ids}`,
      'Re-enroll them: vitalgate device token ID, then enroll the device again.',
    );
  },
};
