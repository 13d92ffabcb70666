// Step-up authentication: a sensitive action (break-glass, wiping or revoking a patient device,
// a long export of a patient's data, user and role changes, erasing a patient, an adaptive
// access decision) needs a second factor given moments ago, not just a live session. A session
// steps up with `POST /api/v1/auth/step-up` (a TOTP code or a passkey assertion); signing in
// with a passkey (user verification) counts as a step-up at that moment. Route handlers call
// `requireStepUp` before they change anything; the refusal is a coded 401 that the console
// answers with its step-up dialog, then retries. The error edge audits every refusal
// (`auth.step_up.required`, outcome denied, with the reason and route).
import type { AuditLog } from '../../core/audit.js';
import { VitalGateError } from '../../core/errors.js';

/** `VITALGATE_STEP_UP_MAX_AGE_SECONDS` when a caller has no configuration at hand. */
export const DEFAULT_STEP_UP_MAX_AGE_SECONDS = 300;

/** Why a step-up is demanded: a short code, shown to the user and written to the audit log. */
export type StepUpReason =
  | 'break_glass'
  | 'patient_device_wipe'
  | 'patient_device_revoke'
  | 'phi_export'
  | 'user_change'
  | 'role_change'
  | 'patient_erase'
  | 'passkey_change'
  | (string & {});

/** What a step-up decision reads from a session: the request's Principal fits. */
export interface StepUpSession {
  /** When the session last gave a fresh second factor (ms since the epoch); null: never. */
  steppedUpAt: number | null;
  /** How long a step-up counts, in seconds; DEFAULT_STEP_UP_MAX_AGE_SECONDS when absent. */
  stepUpMaxAgeSeconds?: number;
}

/** Whether the session stepped up within its max age at `now` (ms). */
export function hasFreshStepUp(session: StepUpSession, now: number): boolean {
  if (session.steppedUpAt === null) return false;
  const maxAgeMs = (session.stepUpMaxAgeSeconds ?? DEFAULT_STEP_UP_MAX_AGE_SECONDS) * 1000;
  const age = now - session.steppedUpAt;
  return age >= 0 && age < maxAgeMs;
}

/**
 * Throws `STEP_UP_REQUIRED` (HTTP 401, `details: { reason, maxAgeSeconds }`) unless the session
 * stepped up within its max age. Call it before anything is changed or granted.
 */
export function requireStepUp(session: StepUpSession, now: number, reason: StepUpReason): void {
  if (hasFreshStepUp(session, now)) return;
  const maxAgeSeconds = session.stepUpMaxAgeSeconds ?? DEFAULT_STEP_UP_MAX_AGE_SECONDS;
  throw new VitalGateError(
    'STEP_UP_REQUIRED',
    `confirm it is you (passkey or authenticator code) within ${maxAgeSeconds} s before this action`,
    { reason, maxAgeSeconds },
  );
}

/** A read of a patient's raw readings (or FHIR Observations) longer than this is an export. */
export const EXPORT_STEP_UP_RANGE_MS = 24 * 3_600_000;

/** `requireStepUp(…, 'phi_export')` when a raw range spans more than a day. */
export function requireStepUpForExport(session: StepUpSession, now: number, from: number, to: number): void {
  if (to - from > EXPORT_STEP_UP_RANGE_MS) requireStepUp(session, now, 'phi_export');
}

/**
 * The audit entry of a refused sensitive action (`auth.step_up.required`, outcome denied), written
 * by the HTTP error edges for every STEP_UP_REQUIRED answer, so callers of requireStepUp need not.
 */
export function auditStepUpRefusal(
  audit: AuditLog,
  error: { code: string; details?: Record<string, unknown> | undefined },
  request: { username: string | undefined; route: string; source: string | undefined },
): void {
  if (error.code !== 'STEP_UP_REQUIRED') return;
  const reason = error.details?.reason;
  audit.append({
    actor: request.username ? `user:${request.username}` : 'anonymous',
    action: 'auth.step_up.required',
    target: `route:${request.route}`,
    outcome: 'denied',
    source: request.source,
    details: { reason: typeof reason === 'string' ? reason : 'unspecified' },
  });
}
