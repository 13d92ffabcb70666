// The validation stage of the durable intake. It runs for every message inside the broker's
// authorizePublish, before the PUBACK, so it never throws and does the cheap checks first. A
// message is accepted, or refused with one dead-letter reason: the first check it fails, in
// this order, whichever reading fails it (so the reason does not depend on reading order):
//
//   PAYLOAD_TOO_LARGE          byte length, before anything is parsed
//   MALFORMED_JSON             not UTF-8, or not JSON
//   TOO_MANY_READINGS          more readings than allowed, before they are parsed
//   SCHEMA_INVALID             the envelope shell; a reading that is not an object with a string type
//   UNKNOWN_READING_TYPE       a type outside SPEC §4 (or an MDC code outside core/nomenclature.ts)
//   TYPE_NOT_ALLOWED_FOR_KIND  a type the device's kind does not send
//   SCHEMA_INVALID             a reading against its type's schema (fields, types, integers)
//   UNIT_MISMATCH              a unit that is not the type's UCUM unit
//   VALUE_OUT_OF_RANGE         a value that is physically impossible (alarming values pass)
//   CLOCK_SKEW                 the envelope's or a reading's ts too far ahead of `now`
//   TIMESTAMP_TOO_OLD          ... or older than `maxAgeMs` (when given)
//
// Details name paths and our own limits, never a value from the payload, nor an unknown key's
// name: the payload is PHI, and a detail goes to logs and the dead-letter table.
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import {
  DEVICE_KINDS,
  KIND_READING_TYPES,
  READING_DEFINITIONS,
  type DeviceKind,
  type ReadingType,
} from '../core/domain.js';
import { readingTermOf } from '../core/nomenclature.js';
import {
  IMPOSSIBLE_VALUE_MESSAGE,
  READING_SCHEMAS,
  UNIT_MISMATCH_MESSAGE,
  envelopeShell,
  type Reading,
  type TelemetryEnvelope,
} from './schemas.js';

export const DEAD_LETTER_REASONS = [
  'PAYLOAD_TOO_LARGE',
  'MALFORMED_JSON',
  'TOO_MANY_READINGS',
  'SCHEMA_INVALID',
  'UNKNOWN_READING_TYPE',
  'TYPE_NOT_ALLOWED_FOR_KIND',
  'UNIT_MISMATCH',
  'VALUE_OUT_OF_RANGE',
  'CLOCK_SKEW',
  'TIMESTAMP_TOO_OLD',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface ValidationContext {
  /** The sending device's kind, from the registry (never from the payload). */
  kind: DeviceKind;
  /** The hub's clock, epoch ms. */
  now: number;
  maxPayloadBytes: number;
  maxReadings: number;
  /** How far ahead of `now` a timestamp may be. */
  maxClockSkewMs: number;
  /** How far behind `now` a timestamp may be; no limit when absent. */
  maxAgeMs?: number;
}

export type ValidationResult =
  { ok: true; envelope: TelemetryEnvelope } | { ok: false; reason: DeadLetterReason; detail: string };

export type Refusal = Extract<ValidationResult, { ok: false }>;

const refuse = (reason: DeadLetterReason, detail: string): Refusal => ({ ok: false, reason, detail });

// Compiled once: zod generates a fast path per schema (about 10× the interpreted parse here) and
// falls back to the interpreter for any input the fast path refuses, so issues are unchanged.
const SHELL = z.compile(envelopeShell);
const TYPE_SCHEMAS: ReadonlyMap<string, (typeof READING_SCHEMAS)[ReadingType]> = new Map(
  Object.entries(READING_SCHEMAS).map(([type, schema]) => [type, z.compile(schema)]),
);
const KIND_TYPES: ReadonlyMap<DeviceKind, ReadonlySet<string>> = new Map(
  DEVICE_KINDS.map((kind) => [kind, new Set<string>(KIND_READING_TYPES[kind])]),
);

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: unknown;
  origin?: unknown;
  minimum?: unknown;
  maximum?: unknown;
  keys?: unknown[];
  values?: unknown[];
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

function pathOf(prefix: string, path: PropertyKey[]): string {
  let out = prefix;
  for (const key of path) out = out ? `${out}.${String(key)}` : String(key);
  return out || '(root)';
}

/** What went wrong, in our words: zod's messages can quote the payload (unknown keys do). */
function describeIssue(prefix: string, issue: Issue): string {
  const at = pathOf(prefix, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return `${at}: expected ${issue.expected === 'int' ? 'integer' : String(issue.expected)}`;
    case 'unrecognized_keys':
      return `${at}: ${issue.keys?.length ?? 1} unknown field(s)`;
    case 'too_small':
      return issue.origin === 'array'
        ? `${at}: fewer than ${String(issue.minimum)} items`
        : `${at}: below ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array'
        ? `${at}: more than ${String(issue.maximum)} items`
        : `${at}: above ${String(issue.maximum)}`;
    case 'invalid_value': // `values` are the schema's own literals, not the input
      return Array.isArray(issue.values) && issue.values.length > 0
        ? `${at}: must be ${issue.values.map(String).join(' or ')}`
        : `${at}: not an allowed value`;
    default:
      return `${at}: invalid (${issue.code})`;
  }
}

/** The reason for a reading's failed parse: a structural issue outranks a unit, a unit a range. */
function classifyReading(i: number, issues: readonly Issue[], unit: string): Refusal {
  let unitIssue: Issue | undefined;
  let rangeIssue: Issue | undefined;
  for (const issue of issues) {
    if (issue.message === UNIT_MISMATCH_MESSAGE) unitIssue ??= issue;
    else if (issue.message === IMPOSSIBLE_VALUE_MESSAGE) rangeIssue ??= issue;
    else return refuse('SCHEMA_INVALID', describeIssue(`readings.${i}`, issue));
  }
  if (unitIssue) return refuse('UNIT_MISMATCH', `readings.${i}.unit: must be ${unit}`);
  if (rangeIssue)
    return refuse('VALUE_OUT_OF_RANGE', `${pathOf(`readings.${i}`, rangeIssue.path)}: physically impossible`);
  return refuse('SCHEMA_INVALID', `readings.${i}: invalid`);
}

/** The UCUM unit each reading type must carry (location carries none). */
const UNITS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(READING_DEFINITIONS).map(([type, def]) => [type, def.shape === 'location' ? '' : def.unit]),
);

/** The first stages, for any envelope: size, UTF-8, JSON, then the readings' count. */
export function parseEnvelopeJson(
  payload: Buffer,
  ctx: ValidationContext,
): { ok: true; json: unknown } | Refusal {
  if (payload.length > ctx.maxPayloadBytes)
    return refuse('PAYLOAD_TOO_LARGE', `payload over ${ctx.maxPayloadBytes} bytes`);
  if (!isUtf8(payload)) return refuse('MALFORMED_JSON', 'payload is not UTF-8');
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return refuse('MALFORMED_JSON', 'payload is not JSON');
  }
  // The count before any parsing, so an oversized batch costs one property read.
  if (isObject(json) && Array.isArray(json.readings) && json.readings.length > ctx.maxReadings)
    return refuse('TOO_MANY_READINGS', `readings: more than ${ctx.maxReadings}`);
  return { ok: true, json };
}

/** The first zod issue of a failed parse, in our words (never a value from the payload). */
export function schemaRefusal(issues: readonly unknown[]): Refusal {
  return refuse('SCHEMA_INVALID', describeIssue('', issues[0] as Issue));
}

export function validateTelemetry(payload: Buffer, ctx: ValidationContext): ValidationResult {
  const parsed = parseEnvelopeJson(payload, ctx);
  if (!parsed.ok) return parsed;
  const json = parsed.json;

  const shell = SHELL.safeParse(json);
  if (!shell.success) return refuse('SCHEMA_INVALID', describeIssue('', shell.error.issues[0] as Issue));
  const { seq, ts, readings: raw } = shell.data;
  const checked = validateReadings(ts, raw, ctx);
  return checked.ok ? { ok: true, envelope: { v: 1, seq, ts, readings: checked.readings } } : checked;
}

/** A reading headed by an MDC code instead of a type: the same reading, named by its type. */
function byMdcCode(
  i: number,
  reading: Record<string, unknown>,
): { reading: Record<string, unknown> } | Refusal {
  const { mdc, ...rest } = reading;
  if (rest.type !== undefined) return refuse('SCHEMA_INVALID', `readings.${i}: give type or mdc, not both`);
  const code = typeof mdc === 'string' && /^\d{1,10}$/.test(mdc) ? Number(mdc) : mdc;
  if (typeof code !== 'number' || !Number.isSafeInteger(code))
    return refuse('SCHEMA_INVALID', `readings.${i}.mdc: expected an MDC code`);
  const term = readingTermOf(code);
  if (!term) return refuse('UNKNOWN_READING_TYPE', `readings.${i}.mdc: not a code the hub accepts`);
  return { reading: { type: term.type, ...rest } };
}

/**
 * The reading stages of validateTelemetry over an envelope's readings (the direct envelope's and
 * a gateway's alike): types or MDC codes, kinds, schemas, units, ranges, then timestamps.
 */
export function validateReadings(
  ts: number,
  raw: readonly unknown[],
  ctx: ValidationContext,
): { ok: true; readings: Reading[] } | Refusal {
  const n = raw.length;
  if (n === 0) return refuse('SCHEMA_INVALID', 'readings: fewer than 1 items');

  // Each stage runs over every reading before the next, so the reason is the earliest stage failed.
  const types: string[] = new Array<string>(n);
  let named: readonly unknown[] = raw;
  for (let i = 0; i < n; i++) {
    const item = named[i];
    if (!isObject(item)) return refuse('SCHEMA_INVALID', `readings.${i}: expected object`);
    let reading: Record<string, unknown> = item;
    if (reading.type === undefined && 'mdc' in reading) {
      const mapped = byMdcCode(i, reading);
      if (!('reading' in mapped)) return mapped;
      const copy = named === raw ? [...raw] : (named as unknown[]);
      copy[i] = reading = mapped.reading;
      named = copy;
    }
    const type = reading.type;
    if (typeof type !== 'string') return refuse('SCHEMA_INVALID', `readings.${i}.type: expected string`);
    types[i] = type;
  }
  for (let i = 0; i < n; i++)
    if (!TYPE_SCHEMAS.has(types[i]!)) return refuse('UNKNOWN_READING_TYPE', `readings.${i}.type: unknown`);
  const allowed = KIND_TYPES.get(ctx.kind);
  for (let i = 0; i < n; i++) {
    if (!allowed?.has(types[i]!))
      return refuse('TYPE_NOT_ALLOWED_FOR_KIND', `readings.${i}.type: not sent by a ${ctx.kind}`);
  }

  const readings: Reading[] = new Array<Reading>(n);
  let firstValueRefusal: Refusal | undefined;
  for (let i = 0; i < n; i++) {
    const parsed = TYPE_SCHEMAS.get(types[i]!)!.safeParse(named[i]);
    if (parsed.success) {
      readings[i] = parsed.data;
      continue;
    }
    const refusal = classifyReading(i, parsed.error.issues as Issue[], UNITS[types[i]!]!);
    if (refusal.reason === 'SCHEMA_INVALID') return refusal;
    // A unit mismatch in any reading outranks an impossible value in an earlier one.
    if (
      !firstValueRefusal ||
      (refusal.reason === 'UNIT_MISMATCH' && firstValueRefusal.reason === 'VALUE_OUT_OF_RANGE')
    )
      firstValueRefusal = refusal;
  }
  if (firstValueRefusal) return firstValueRefusal;

  const latest = ctx.now + ctx.maxClockSkewMs;
  if (ts > latest)
    return refuse('CLOCK_SKEW', `ts: more than ${ctx.maxClockSkewMs} ms ahead of the hub clock`);
  for (let i = 0; i < n; i++) {
    const at = readings[i]!.ts;
    if (at !== undefined && at > latest)
      return refuse(
        'CLOCK_SKEW',
        `readings.${i}.ts: more than ${ctx.maxClockSkewMs} ms ahead of the hub clock`,
      );
  }
  if (ctx.maxAgeMs !== undefined) {
    const earliest = ctx.now - ctx.maxAgeMs;
    if (ts < earliest) return refuse('TIMESTAMP_TOO_OLD', `ts: older than ${ctx.maxAgeMs} ms`);
    for (let i = 0; i < n; i++) {
      const at = readings[i]!.ts;
      if (at !== undefined && at < earliest)
        return refuse('TIMESTAMP_TOO_OLD', `readings.${i}.ts: older than ${ctx.maxAgeMs} ms`);
    }
  }

  return { ok: true, readings };
}

/**
 * Where `seq` stands against the last one accepted in the same replay window: above it is new,
 * equal is a duplicate (a resend after a lost PUBACK), below it is a replay, and more than
 * `maxJump` above it (or above 0, in a window with nothing yet) is an implausible jump, which is
 * refused: accepted, one such seq would close the window for good. Pure: the ledger keeps the
 * state.
 */
export function classifySeq(
  lastSeq: number | undefined,
  seq: number,
  maxJump = Infinity,
): 'new' | 'duplicate' | 'replay' | 'jump' {
  if (lastSeq === undefined || seq > lastSeq) return seq - (lastSeq ?? 0) > maxJump ? 'jump' : 'new';
  return seq === lastSeq ? 'duplicate' : 'replay';
}
