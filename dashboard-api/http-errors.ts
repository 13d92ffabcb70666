// The one place where errors become HTTP responses: VitalGateError codes map to statuses, and
// every body has the SPEC §6 shape `{ error: { code, message, details? } }`. Anything that is
// not a VitalGateError is an INTERNAL_ERROR with a generic message: no stack trace, no library
// message (it could quote input), no PHI.
import { VitalGateError, isVitalGateError } from '../core/errors.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  VALIDATION_FAILED: 400,
  ALERT_SETTING_INVALID: 400,
  SNOOZE_INVALID: 400,
  ROTA_INVALID: 400,
  PUSH_SUBSCRIPTION_INVALID: 400,
  UNKNOWN_FIELD: 400,
  BODY_INVALID: 400,
  REASON_REQUIRED: 400,
  PASSWORD_TOO_WEAK: 400,
  PATIENT_INVALID: 400,
  DEVICE_ID_INVALID: 400,
  DEVICE_KIND_INVALID: 400,
  SYSTEM_ID_INVALID: 400,
  SERIAL_INVALID: 400,
  NOT_A_GATEWAY: 400,
  USERNAME_INVALID: 400,
  ROLE_INVALID: 400,
  RANGE_INVALID: 400,
  ROLE_NOT_ALLOWED: 400,
  BAD_REQUEST: 400,
  URL_INVALID: 400,
  COMMAND_PARAMS_INVALID: 400,
  CONFIRMATION_MISMATCH: 400,
  POSITION_INVALID: 400,
  FHIR_CLIENT_INVALID: 400,
  MESSAGE_INVALID: 400,
  MEMBER_INVALID: 400,
  LIFESPAN_INVALID: 400,
  FILING_INVALID: 400,
  RPM_INVALID: 400,
  RPM_DATE_INVALID: 400,

  UNAUTHENTICATED: 401,
  SESSION_EXPIRED: 401,
  INVALID_CREDENTIALS: 401,
  CHALLENGE_INVALID: 401,
  MFA_CODE_INVALID: 401,
  MFA_CODE_REUSED: 401,
  ENROLLMENT_TOKEN_INVALID: 401,
  CLIENT_CERTIFICATE_REQUIRED: 401,
  CLIENT_ASSERTION_INVALID: 401,
  DEVICE_SIGNED_OUT_REMOTELY: 401,
  STEP_UP_REQUIRED: 401,
  PASSKEY_INVALID: 401,
  PASSKEY_COUNTER_REGRESSED: 401,
  PASSKEY_BLOCKED: 401,
  PASSKEY_REQUIRED: 403,

  FORBIDDEN: 403,
  PHI_NOT_PERMITTED: 403,
  PATIENT_NOT_ACCESSIBLE: 403,
  PHI_NETWORK_REFUSED: 403,
  PASSWORD_CHANGE_REQUIRED: 403,
  CSRF_REJECTED: 403,
  ADAPTIVE_ACCESS_DENIED: 403,
  GEOFENCE_POSITION_REQUIRED: 403,
  GEOFENCE_OUTSIDE_SITES: 403,
  CERTIFICATE_NOT_CURRENT: 403,
  CLIENT_CERTIFICATE_INVALID: 403,
  DEVICE_NOT_ACTIVE: 403,
  SCOPE_NOT_GRANTED: 403,
  CONVERSATION_NOT_MEMBER: 403,
  RECALL_NOT_SENDER: 403,
  RPM_TIME_ENTRY_NOT_YOURS: 403,

  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  DEVICE_NOT_FOUND: 404,
  GATEWAY_NOT_FOUND: 404,
  GATEWAY_BINDING_NOT_FOUND: 404,
  PATIENT_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  STAFF_DEVICE_NOT_FOUND: 404,
  ALERT_NOT_FOUND: 404,
  TEAM_NOT_FOUND: 404,
  CONVERSATION_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  PUSH_SUBSCRIPTION_NOT_FOUND: 404,
  NOTIFICATION_NOT_FOUND: 404,
  PASSKEY_NOT_FOUND: 404,
  RPM_NOT_ENROLLED: 404,
  RPM_TIME_ENTRY_NOT_FOUND: 404,
  RPM_STATEMENT_NOT_FOUND: 404,
  CRL_ISSUER_UNKNOWN: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,

  DEVICE_EXISTS: 409,
  USER_EXISTS: 409,
  DEVICE_STATE_CONFLICT: 409,
  GATEWAY_STATE_CONFLICT: 409,
  DEVICE_NOT_ENROLLABLE: 409,
  ALERT_STATE_CONFLICT: 409,
  ALERT_SETTING_CONFLICT: 409,
  TEAM_EXISTS: 409,
  MFA_NOT_ENROLLED: 409,
  RPM_MONTH_CLOSED: 409,
  RPM_MONTH_NOT_OVER: 409,
  RPM_TIME_ENTRY_DECIDED: 409,

  PATIENT_ERASED: 410,
  KEY_DESTROYED: 410,
  CONVERSATION_CLOSED: 410,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ACCOUNT_LOCKED: 423,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,

  INFLUX_UNAVAILABLE: 503,
  INFLUX_QUERY_FAILED: 503,
  TELEMETRY_UNAVAILABLE: 503,
  CHECKS_UNAVAILABLE: 503,
  COMMANDS_UNAVAILABLE: 503,
  ALERTS_UNAVAILABLE: 503,
  RPM_UNAVAILABLE: 503,
  NOT_READY: 503,
  SHUTTING_DOWN: 503,
  PKI_URL_UNREACHABLE: 503,
};

/** Code prefixes that are caller errors as a family (the CSR gates). */
const STATUS_BY_PREFIX: readonly [string, number][] = [['CSR_', 400]];

export function statusForCode(code: string): number {
  const exact = STATUS_BY_CODE[code];
  if (exact !== undefined) return exact;
  for (const [prefix, status] of STATUS_BY_PREFIX) if (code.startsWith(prefix)) return status;
  return 500;
}

/** Messages of these codes may come from lower layers and are safe to pass on as they are. */
function isClientFacing(err: VitalGateError): boolean {
  return statusForCode(err.code) < 500 || STATUS_BY_CODE[err.code] !== undefined;
}

/** 5xx codes whose messages are the hub's own words, never a lower layer's: passed on as they are. */
const OWN_MESSAGES: ReadonlySet<string> = new Set(['SHUTTING_DOWN']);

const GENERIC: Record<number, string> = {
  500: 'internal error',
  503: 'a dependency of the hub is unavailable; try again later',
};

/** Turns anything thrown into a status and a PHI-free body. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (isVitalGateError(err) && isClientFacing(err)) {
    const status = statusForCode(err.code);
    // 5xx from lower layers (InfluxDB's own message) are replaced by a generic line.
    const message =
      status >= 500 && !OWN_MESSAGES.has(err.code) ? (GENERIC[status] ?? GENERIC[500]!) : err.message;
    const details = status < 500 && err.details ? safeDetails(err.details) : undefined;
    const code = status === 503 && err.code.startsWith('INFLUX_') ? 'TELEMETRY_UNAVAILABLE' : err.code;
    return { status, body: { error: { code, message, ...(details ? { details } : {}) } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL_ERROR', message: GENERIC[500]! } } };
}

/** Details keep numbers, booleans, codes and short id-like strings only. */
function safeDetails(details: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    else if (typeof value === 'string' && /^[A-Za-z0-9_.:/-]{0,64}$/.test(value)) out[key] = value;
    else if (
      Array.isArray(value) &&
      value.every((v) => typeof v === 'string' && /^[A-Za-z0-9_.-]{0,64}$/.test(v))
    )
      out[key] = value.slice(0, 20);
  }
  return Object.keys(out).length ? out : undefined;
}

export function apiError(code: string, message: string, details?: Record<string, unknown>): VitalGateError {
  return new VitalGateError(code, message, details);
}
