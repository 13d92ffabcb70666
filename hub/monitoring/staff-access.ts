// Staff access anomalies for the auditors: PHI read at unusual hours, from a network the user
// has not used before, or in bulk (many patients in a short window). Reads the audit chain's
// PHI-read entries (action `phi.read`, actor `user:<name>`, target `patient:<id>`, source
// address) and raises security events. It never reads PHI itself.
import { isIP } from 'node:net';
import type { AuditEntry } from '../../core/audit.js';
import type { ControlPlane } from '../../core/store/control-plane.js';

export const PHI_READ_ACTION = 'phi.read';

export interface StaffAccessPolicy {
  /** Working hours in the hub's local time zone, [start, end). */
  workingHours: [number, number];
  /** More distinct patients than this within `bulkWindowMs` is bulk access. */
  bulkPatients: number;
  bulkWindowMs: number;
  /** Days of history that define a user's known networks. */
  networkHistoryDays: number;
}

export const DEFAULT_STAFF_POLICY: StaffAccessPolicy = {
  workingHours: [7, 20],
  bulkPatients: 20,
  bulkWindowMs: 10 * 60_000,
  networkHistoryDays: 30,
};

export type StaffAnomaly = 'unusual_hours' | 'new_network' | 'bulk_access';

function networkOf(address: string | null): string | null {
  if (!address) return null;
  const plain = address.replace(/^::ffff:/, '');
  if (isIP(plain) === 4) return plain.split('.').slice(0, 3).join('.');
  if (isIP(plain) === 6) return plain.split(':').slice(0, 4).join(':');
  return null;
}

export class StaffAccessMonitor {
  private lastSeq = 0;

  constructor(
    private readonly store: ControlPlane,
    private readonly policy: StaffAccessPolicy = DEFAULT_STAFF_POLICY,
    private readonly hourOf: (at: number) => number = (at) => new Date(at).getHours(),
  ) {
    this.lastSeq = store.audit.list({ limit: 1 })[0]?.seq ?? 0;
  }

  /** Looks at the PHI reads since the last call. Returns the anomalies raised. */
  scan(): { username: string; anomaly: StaffAnomaly }[] {
    const fresh = this.store.audit
      .list({ action: PHI_READ_ACTION, afterSeq: this.lastSeq, outcome: 'success', limit: 1000 })
      .reverse();
    const raised: { username: string; anomaly: StaffAnomaly }[] = [];
    const seen = new Set<string>();
    const raise = (entry: AuditEntry, anomaly: StaffAnomaly, details: Record<string, unknown>) => {
      const username = entry.actor.replace(/^user:/, '');
      const key = `${username}|${anomaly}`;
      if (seen.has(key)) return;
      seen.add(key);
      raised.push({ username, anomaly });
      this.store.securityEvents.add({
        kind: `staff_${anomaly}`,
        severity: anomaly === 'bulk_access' ? 'high' : 'medium',
        username,
        source: entry.source,
        details,
      });
    };
    for (const entry of fresh) {
      this.lastSeq = Math.max(this.lastSeq, entry.seq);
      if (!entry.actor.startsWith('user:')) continue;
      const hour = this.hourOf(entry.at);
      const [start, end] = this.policy.workingHours;
      if (hour < start || hour >= end) raise(entry, 'unusual_hours', { hour });
      const network = networkOf(entry.source);
      if (network) {
        const history = this.store.audit
          .list({
            action: PHI_READ_ACTION,
            actor: entry.actor,
            from: entry.at - this.policy.networkHistoryDays * 86_400_000,
            to: entry.at - 1,
            limit: 1000,
          })
          .map((e) => networkOf(e.source))
          .filter((n): n is string => n !== null);
        if (history.length > 0 && !history.includes(network))
          raise(entry, 'new_network', { network: `${network}.x` });
      }
      const window = this.store.audit.list({
        action: PHI_READ_ACTION,
        actor: entry.actor,
        from: entry.at - this.policy.bulkWindowMs,
        to: entry.at,
        limit: 1000,
      });
      const patients = new Set(window.map((e) => e.target));
      if (patients.size > this.policy.bulkPatients) raise(entry, 'bulk_access', { patients: patients.size });
    }
    return raised;
  }
}
