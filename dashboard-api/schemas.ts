// Shared zod schemas of the API: identifiers, reasons, times and the error body. Every object is
// strict, so unknown fields are refused, and every string is bounded.
import { z } from 'zod';
import { DEVICE_ID_PATTERN, READING_TYPES, ROLES, DEVICE_KINDS, DEVICE_STATUSES } from '../core/domain.js';
import { PATIENT_ID_PATTERN } from '../core/patient-registry.js';
import { USERNAME_PATTERN } from '../core/store/users.js';

export const patientId = z.string().max(48).regex(PATIENT_ID_PATTERN, 'not a patient id');
export const deviceId = z.string().max(64).regex(DEVICE_ID_PATTERN, 'not a device id');
export const username = z.string().max(64).regex(USERNAME_PATTERN, 'not a username');
export const role = z.enum(ROLES);
export const deviceKind = z.enum(DEVICE_KINDS);
export const deviceStatus = z.enum(DEVICE_STATUSES);
export const readingType = z.enum(READING_TYPES);
export const reason = z.string().trim().min(3).max(500);
export const cidrList = z.array(z.string().max(50)).max(50);

export const patientParams = z.object({ id: patientId }).strict();
export const deviceParams = z.object({ id: deviceId }).strict();
export const userParams = z.object({ username }).strict();

/** Epoch milliseconds or an ISO 8601 date-time, as a query parameter. */
export const instant = z
  .string()
  .max(40)
  .transform((s, ctx) => {
    const ms = /^\d{1,15}$/.test(s)
      ? Number(s)
      : /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(s)
        ? Date.parse(s)
        : NaN;
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'expected epoch milliseconds or an ISO 8601 date-time' });
      return z.NEVER;
    }
    return ms;
  });

/** `type=heart_rate,spo2` or repeated `type=` parameters. */
export const readingTypes = z
  .union([z.string().max(300), z.array(z.string().max(40)).max(20)])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(readingType).max(20));

const RESOLUTION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `30s`, `1m`, `15m`, `1h`, `1d`. */
export const resolution = z
  .string()
  .regex(/^\d{1,4}[smhd]$/, 'expected a resolution like 1m, 15m or 1h')
  .transform((s) => Number(s.slice(0, -1)) * RESOLUTION_UNITS[s.slice(-1)]!)
  .refine((ms) => ms >= 1000 && ms <= 86_400_000, 'resolution must be between 1s and 1d');

export const limit = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, 'expected a positive integer')
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, `expected 1 to ${max}`)
    .optional()
    .transform((n) => n ?? fallback);

/** A page's start among the matches (0 when absent), at most `max`. */
export const offset = (max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, 'expected a non-negative integer')
    .transform(Number)
    .refine((n) => n <= max, `expected 0 to ${max}`)
    .optional()
    .transform((n) => n ?? 0);

export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** Responses every authenticated route may give. */
export const commonErrors = {
  400: errorBody,
  401: errorBody,
  403: errorBody,
  404: errorBody,
  429: errorBody,
};
