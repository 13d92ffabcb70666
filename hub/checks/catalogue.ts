// Every deployment check, in report order, and the docs/CHECKS.md catalogue generated from them.
import type { DeploymentCheck } from './check.js';
import { API_CHECKS } from './api.js';
import { consoleLockedDown } from './console.js';
import { BACKLOG_CHECKS } from './backlog.js';
import { CARE_CHECKS } from './care.js';
import { MESSAGING_CHECKS } from './messaging.js';
import { restoreDrillPassed } from './backup-drill.js';
import { devicesOnPreviousIssuer } from './issuer-rotation.js';
import { aclLint, revocationCanary } from './canary.js';
import { DATA_CHECKS } from './data.js';
import { dataDirLocked } from './data-dir.js';
import { influxRestarts } from './influx-restarts.js';
import { DEVICE_CHECKS } from './devices.js';
import { FLEET_CHECKS } from './fleet.js';
import { GATEWAY_CHECKS } from './gateways.js';
import { handshakesBounded } from './handshakes.js';
import { accountsUnderAttack } from './login-attacks.js';
import { STAFF_FACTOR_CHECKS } from './staff-factors.js';
import { STAFF_DEVICE_CHECKS } from './staff-devices.js';
import { fhirClientsNarrow } from './fhir-clients.js';
import { FHIR_PUSH_CHECKS } from './fhir-push.js';
import { NETWORK_CHECKS } from './network.js';
import { PEOPLE_CHECKS, breakGlassReviewed } from './people.js';
import { PKI_CHECKS } from './pki.js';
import { renewalPrompted } from './renewal.js';
import { RETENTION_CHECKS } from './retention.js';
import { rootCaRollover } from './root-rollover.js';
import { RPM_CHECKS } from './rpm.js';

export const ALL_CHECKS: readonly DeploymentCheck[] = [
  ...PKI_CHECKS,
  rootCaRollover,
  devicesOnPreviousIssuer,
  revocationCanary,
  ...NETWORK_CHECKS,
  handshakesBounded,
  aclLint,
  ...DATA_CHECKS,
  restoreDrillPassed,
  ...BACKLOG_CHECKS,
  dataDirLocked,
  influxRestarts,
  ...PEOPLE_CHECKS,
  breakGlassReviewed,
  ...RETENTION_CHECKS,
  ...API_CHECKS,
  consoleLockedDown,
  accountsUnderAttack,
  ...STAFF_FACTOR_CHECKS,
  ...STAFF_DEVICE_CHECKS,
  fhirClientsNarrow,
  ...FHIR_PUSH_CHECKS,
  ...DEVICE_CHECKS,
  ...FLEET_CHECKS,
  ...GATEWAY_CHECKS,
  renewalPrompted,
  ...CARE_CHECKS,
  ...MESSAGING_CHECKS,
  ...RPM_CHECKS,
];

/** What the hub cannot check by itself, and how to keep evidence for it (OWASP SMDDS). */
const OUT_OF_REACH = [
  [
    'Purchasing controls',
    'Security requirements in procurement contracts, MDS2 forms from vendors, vendor patch commitments.',
    'Keep the signed MDS2 and contract clauses per device model; record the evaluation date and end-of-support date per model.',
  ],
  [
    'Physical security',
    'Who can touch the hub host, its disks and backups.',
    'Keep the hosting facility’s access logs and the backup media register.',
  ],
  [
    'Perimeter defenses',
    'Firewalls and segmentation in front of the hub.',
    'Export firewall rules for the MQTT (8883) and API (8443) ports with each change.',
  ],
  [
    'Security testing',
    'Penetration tests and vulnerability scans of the deployment.',
    'File test reports and the fixes that followed.',
  ],
  [
    'Incident response',
    'The plan, the on-call list, and exercises.',
    'Keep the plan and exercise minutes; the audit log and security events feed it.',
  ],
];

export function checksCatalogue(checks: readonly DeploymentCheck[] = ALL_CHECKS): string {
  const lines = [
    '# Deployment checks',
    '',
    'Generated from the check modules in `hub/checks/` by `npx tsx scripts/checks-catalogue.ts`; a',
    'test fails when this file and the modules disagree. Run the checks with `vitalgate check`',
    '(exit 0: all pass; 1: a high or critical check fails; 2: the checks could not run).',
    '',
    '| id | title | severity | OWASP SMDDS | HIPAA | Device Defender analogue |',
    '|---|---|---|---|---|---|',
    ...checks.map(
      (c) =>
        `| ${c.id} | ${c.title} | ${c.severity} | ${c.references.owasp} | ${c.references.hipaa} | ${c.references.deviceDefender ?? '—'} |`,
    ),
    '',
    ...checks.flatMap((c) => [
      `## ${c.id}: ${c.title}`,
      '',
      `- **Verifies:** ${c.verifies}`,
      `- **How:** ${c.how}`,
      '',
    ]),
    '## What the hub cannot check',
    '',
    '| area | what | how to keep evidence |',
    '|---|---|---|',
    ...OUT_OF_REACH.map(([area, what, how]) => `| ${area} | ${what} | ${how} |`),
    '',
  ];
  return lines.join('\n');
}
