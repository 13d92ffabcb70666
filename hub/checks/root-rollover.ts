// The root CA's end, a year ahead. Every device trusts the hub through the root in its trust
// bundle; a new root reaches devices only with a firmware or configuration update, which takes a
// fleet months. So the warning comes a year before the root expires (VG-PKI-001 fails at 30
// days, far too late for a rollover). The rollover itself is in docs/PKI.md.
import { pass, warn, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
export const ROOT_ROLLOVER_LEAD_DAYS = 365;

export const rootCaRollover: DeploymentCheck = {
  id: 'VG-PKI-010',
  title: 'The root CA rollover starts a year before the root expires',
  severity: 'medium',
  verifies: `The root CA certificate is valid for more than ${ROOT_ROLLOVER_LEAD_DAYS} days, the time a fleet needs to take a new trust bundle.`,
  how: "Reads notAfter of the hub's root CA certificate.",
  references: {
    owasp: 'Device security controls',
    hipaa: '164.312(d) Person or entity authentication',
    deviceDefender: 'CA_CERTIFICATE_EXPIRING_CHECK',
  },
  run({ authority, now }) {
    const notAfter = authority.rootCertificate.notAfter;
    const days = Math.floor((notAfter.getTime() - now) / DAY);
    if (days > ROOT_ROLLOVER_LEAD_DAYS) {
      return pass(`root CA valid until ${notAfter.toISOString()} (${days} days)`);
    }
    return warn(
      days < 0
        ? `root CA expired on ${notAfter.toISOString()}`
        : `root CA expires in ${days} days (${notAfter.toISOString()})`,
      'Start the root rollover now (docs/PKI.md, "Root CA rollover"): make the new root, cross-sign it with the old one, and ship the trust bundle with both roots to every device before the old root expires.',
    );
  },
};
