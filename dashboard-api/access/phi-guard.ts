// The PHI gate: a clinician reads a patient's data only when the patient is assigned to them or
// they hold a live break-glass grant, and only from a network their role may read PHI from.
// Every read and every refusal becomes an audit entry (who, which patient, what, when, from
// where); refusals are counted, and network refusals also raise a security event.
import type { AuditLog } from '../../core/audit.js';
import { NetworkPolicy } from '../../core/cidr.js';
import type { Role } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { BreakGlassGrantRepository } from '../../core/store/break-glass-grants.js';
import type { PatientRepository } from '../../core/store/patients.js';
import type { SecurityEventRepository } from '../../core/store/security-events.js';
import type { Principal } from '../auth/sessions.js';
import type { ApiMetrics } from '../metrics.js';
import { roleMay } from './policy.js';

export const PHI_READ_ACTION = 'phi.read';

export type AccessBasis = 'assignment' | 'break_glass';

export interface PhiGuardDeps {
  patients: PatientRepository;
  grants: BreakGlassGrantRepository;
  audit: AuditLog;
  securityEvents: SecurityEventRepository;
  metrics: ApiMetrics;
  /** CIDRs each PHI role may read PHI from. A role without an entry reads PHI from nowhere. */
  phiNetworks: Partial<Record<Role, readonly string[]>>;
  now: () => number;
}

export class PhiGuard {
  private readonly networks = new Map<Role, NetworkPolicy>();

  constructor(private readonly deps: PhiGuardDeps) {
    for (const [role, cidrs] of Object.entries(deps.phiNetworks)) {
      this.networks.set(role as Role, new NetworkPolicy(cidrs ?? []));
    }
  }

  /**
   * Role and network, before the request is even parsed. `patientId` is the raw path parameter
   * (audited only when it looks like a patient id).
   */
  admit(principal: Principal, what: string, source: string | undefined, patientId?: string): void {
    if (!roleMay(principal.role, 'phi.read')) {
      this.refuse(principal, 'PHI_NOT_PERMITTED', 'role', what, source, patientId);
      throw new VitalGateError('PHI_NOT_PERMITTED', `the ${principal.role} role cannot read patient data`);
    }
    const policy = this.networks.get(principal.role);
    if (!policy || !policy.allows(source)) {
      this.refuse(principal, 'PHI_NETWORK_REFUSED', 'network', what, source, patientId);
      this.deps.securityEvents.add({
        kind: 'phi_network_refused',
        severity: 'medium',
        username: principal.username,
        source: source ?? null,
        details: { what },
      });
      throw new VitalGateError('PHI_NETWORK_REFUSED', 'patient data cannot be read from this network');
    }
  }

  /** Assignment or break-glass for one patient; refuses (and audits) anything else. */
  authorize(principal: Principal, patientId: string, what: string, source: string | undefined): AccessBasis {
    const basis = this.basis(principal.username, patientId);
    if (!basis) {
      this.refuse(principal, 'PATIENT_NOT_ACCESSIBLE', 'not_assigned', what, source, patientId);
      throw new VitalGateError(
        'PATIENT_NOT_ACCESSIBLE',
        'this patient is not assigned to you; break-glass access needs a stated reason',
      );
    }
    return basis;
  }

  basis(username: string, patientId: string): AccessBasis | undefined {
    if (this.deps.patients.isAssigned(patientId, username)) return 'assignment';
    if (this.deps.grants.active(username, patientId, this.deps.now())) return 'break_glass';
    return undefined;
  }

  /** Patients the user may read now: assigned ones, then those under a live grant. */
  accessiblePatients(username: string): { patientId: string; basis: AccessBasis }[] {
    const assigned = this.deps.patients.assignedTo(username);
    const seen = new Set(assigned);
    const glass = this.deps.grants.activePatients(username, this.deps.now()).filter((p) => !seen.has(p));
    return [
      ...assigned.map((patientId) => ({ patientId, basis: 'assignment' as const })),
      ...glass.map((patientId) => ({ patientId, basis: 'break_glass' as const })),
    ];
  }

  /** The audit entry of a PHI read that was served. */
  recordRead(
    principal: Principal,
    patientId: string,
    what: string,
    source: string | undefined,
    details: Record<string, unknown> = {},
  ): void {
    this.deps.audit.append({
      actor: `user:${principal.username}`,
      action: PHI_READ_ACTION,
      target: `patient:${patientId}`,
      outcome: 'success',
      source,
      details: { what, ...details },
    });
  }

  private refuse(
    principal: Principal,
    code: string,
    reason: string,
    what: string,
    source: string | undefined,
    patientId: string | undefined,
  ): void {
    this.deps.metrics.phiRefusals.inc({ reason });
    const target =
      patientId && /^pat_[A-Za-z0-9_-]{8,40}$/.test(patientId) ? `patient:${patientId}` : undefined;
    this.deps.audit.append({
      actor: `user:${principal.username}`,
      action: PHI_READ_ACTION,
      target,
      outcome: 'denied',
      source,
      details: { what, code, role: principal.role },
    });
  }
}
