// Break-glass: a clinician states why they need an unassigned patient's data now, and gets it
// for VITALGATE_BREAK_GLASS_MINUTES. The grant is audited and raises a high-severity security
// event, which is what the auditors watch.
import type { HubConfig } from '../../core/config.js';
import { VitalGateError } from '../../core/errors.js';
import type { BreakGlassGrant, BreakGlassGrantRepository } from '../../core/store/break-glass-grants.js';
import type { ControlPlane } from '../../core/store/control-plane.js';

export class BreakGlass {
  constructor(
    private readonly grants: BreakGlassGrantRepository,
    private readonly store: ControlPlane,
    private readonly config: Pick<HubConfig, 'breakGlassMinutes'>,
    private readonly now: () => number,
  ) {}

  grant(username: string, patientId: string, reason: string, source: string | undefined): BreakGlassGrant {
    const patient = this.store.patients.get(patientId);
    if (!patient || patient.erasedAt !== null)
      throw new VitalGateError('PATIENT_NOT_FOUND', 'no such patient');
    const at = this.now();
    const grant = this.grants.add({
      username,
      patientId,
      reason: reason.trim(),
      source: source ?? null,
      grantedAt: at,
      expiresAt: at + this.config.breakGlassMinutes * 60_000,
    });
    this.store.audit.append({
      actor: `user:${username}`,
      action: 'phi.break_glass',
      target: `patient:${patientId}`,
      outcome: 'success',
      source,
      details: { grantId: grant.id, reason: grant.reason, expiresAt: grant.expiresAt },
    });
    this.store.securityEvents.add({
      kind: 'break_glass',
      severity: 'high',
      username,
      source: source ?? null,
      details: { grantId: grant.id, patient: patientId, expiresAt: grant.expiresAt },
    });
    return grant;
  }
}
