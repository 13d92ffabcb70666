// Step-up authentication: a sensitive action (break-glass, wiping or revoking a patient device,
// a long export of a patient's data, user and role changes, erasing a patient, an adaptive
// access decision) needs a second factor given moments ago, not just a live session. A session
// steps up with `POST /api/v1/auth/step-up` (a TOTP code or a passkey assertion); signing in
// with a passkey (user verification) counts as a step-up at that moment. Route handlers call
// `requireStepUp` before they change anything; the refusal is a coded 401 that the console
// answers with its step-up dialog, then retries. The error edge audits every refusal
// (`auth.step_up.required`, outcome denied, with the reason and route).
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
