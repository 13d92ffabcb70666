// What a deployment check is. Each check is a small module with a stable id, references to the
// OWASP Secure Medical Device Deployment Standard (SMDDS), HIPAA 164.312 and the AWS IoT Device
// Defender audit check it resembles, and a `run` against the live hub.
import type { HubConfig } from '../../core/config.js';
import type { InfluxClient } from '../../core/influx.js';
import type { Keyring, MasterKeySource } from '../../core/keyring.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import type { CertificateAuthority } from '../../pki/authority.js';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'not_applicable';

export interface CheckReferences {
  /** OWASP SMDDS section, e.g. "Device security controls". */
  owasp: string;
  /** HIPAA 164.312 paragraph, e.g. "164.312(a)(2)(iv)". */
  hipaa: string;
  /** The AWS IoT Device Defender audit check it resembles, if any. */
  deviceDefender?: string;
}

export interface CheckOutcome {
  status: CheckStatus;
  /** What was looked at and found: ids, counts, dates. Never PHI or secrets. */
  evidence: string;
  /** What to do when it is not a pass. */
  remediation?: string;
}

/** Live parts of a running hub that some checks probe. Absent when the hub is not running. */
export interface LiveHub {
  /** The running hub's process id (this process when the hub runs the checks itself). */
  pid?: number;
  mqtt: { host: string; port: number };
  api?: { host: string; port: number };
  /** Device ids with a live MQTT session, and the certificate serial each presented. */
  liveSessions(): { deviceId: string; serial: string; address: string }[];
}

export interface CheckContext {
  config: HubConfig;
  store: ControlPlane;
  keyring: Keyring;
  masterKey: MasterKeySource;
  authority: CertificateAuthority;
  now: number;
  live?: LiveHub | undefined;
  /** The telemetry database, when reachable. */
  influx?: InfluxClient | undefined;
}

export interface DeploymentCheck {
  id: string;
  title: string;
  severity: Severity;
  /** One sentence: what the check verifies. */
  verifies: string;
  /** One sentence: how it verifies it. */
  how: string;
  references: CheckReferences;
  run(ctx: CheckContext): Promise<CheckOutcome> | CheckOutcome;
}

export const pass = (evidence: string): CheckOutcome => ({ status: 'pass', evidence });
export const warn = (evidence: string, remediation: string): CheckOutcome => ({
  status: 'warn',
  evidence,
  remediation,
});
export const fail = (evidence: string, remediation: string): CheckOutcome => ({
  status: 'fail',
  evidence,
  remediation,
});
export const notApplicable = (evidence: string): CheckOutcome => ({ status: 'not_applicable', evidence });

/** Lists ids for evidence, capped so a large fleet does not flood the report. */
export function listIds(ids: readonly string[], max = 10): string {
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
}
