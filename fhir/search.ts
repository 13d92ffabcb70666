// FHIR search parameters, parsed from a query string's values (no HTTP here). Only the
// parameters the CapabilityStatement names are accepted; anything else is refused with a coded
// error rather than silently ignored, so a client never mistakes an unfiltered answer for a
// filtered one. Dates take FHIR's partial forms (YYYY, YYYY-MM, YYYY-MM-DD, or a dateTime with
// a zone) and the prefixes ge, gt, le, lt (none means the whole period named).
import { VitalGateError } from '../core/errors.js';
import type { ReadingType } from '../core/domain.js';
import { patientIdFromFhir } from './ids.js';
import { FHIR_TYPES, readingTypesForCode } from './observations.js';

export type QueryValues = Record<string, string | string[] | undefined>;

export const MAX_COUNT = 1000;
export const DEFAULT_COUNT = 100;
/** The widest date range one search reads. */
export const MAX_RANGE_MS = 31 * 86_400_000;
/** How many readings a search may page through (offset + count). */
export const MAX_OFFSET = 200_000;

export interface Paging {
  count: number;
  offset: number;
}

export interface ObservationSearch extends Paging {
  patientId: string;
  /**
   * Where an oldest-first page starts (from a `next` link): at `ts`, after `skip` readings there;
   * `total` is the search's count from its first page (counted once per search).
   */
  cursor?: { ts: number; skip: number; total: number } | undefined;
  types: ReadingType[];
  from: number;
  to: number;
  descending: boolean;
}

function bad(message: string): never {
  throw new VitalGateError('BAD_REQUEST', message);
}

function values(query: QueryValues, name: string): string[] {
  const v = query[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function single(query: QueryValues, name: string): string | undefined {
  const list = values(query, name);
  if (list.length > 1) bad(`\`${name}\` may be given once`);
  return list[0];
}

function only(query: QueryValues, allowed: readonly string[]): void {
  for (const name of Object.keys(query)) {
    if (!allowed.includes(name)) bad(`search parameter \`${name}\` is not supported here`);
  }
}

function integer(query: QueryValues, name: string, min: number, max: number, fallback: number): number {
  const raw = single(query, name);
  if (raw === undefined) return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    bad(`\`${name}\` must be a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}

export function paging(query: QueryValues): Paging {
  return {
    count: integer(query, '_count', 1, MAX_COUNT, DEFAULT_COUNT),
    offset: integer(query, '_offset', 0, MAX_OFFSET, 0),
  };
}

/** A Patient reference (`Patient/{id}` or `{id}`) as the hub's patient id. */
export function patientReference(raw: string): string {
  const id = raw.startsWith('Patient/') ? raw.slice('Patient/'.length) : raw;
  const patientId = patientIdFromFhir(id);
  if (!patientId) bad('`patient` must name a Patient by its id');
  return patientId;
}

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/** The first and last millisecond of the period a FHIR date or dateTime names. */
export function datePeriod(raw: string): { start: number; end: number } {
  const m = DATE.exec(raw);
  if (!m)
    throw new VitalGateError(
      'RANGE_INVALID',
      'a date must be YYYY, YYYY-MM, YYYY-MM-DD or a dateTime with a zone',
    );
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let start: number;
  let end: number;
  if (h !== undefined) {
    const iso = `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${frac ? frac.slice(0, 4) : ''}${zone}`;
    start = Date.parse(iso);
    end = start + (s === undefined ? 59_999 : frac ? 0 : 999);
  } else if (d !== undefined) {
    start = Date.UTC(Number(y), Number(mo) - 1, Number(d));
    end = start + 86_400_000 - 1;
  } else if (mo !== undefined) {
    start = Date.UTC(Number(y), Number(mo) - 1, 1);
    end = Date.UTC(Number(y), Number(mo), 1) - 1;
  } else {
    start = Date.UTC(Number(y), 0, 1);
    end = Date.UTC(Number(y) + 1, 0, 1) - 1;
  }
  const named = h === undefined ? raw : raw.slice(0, 10);
  if (!Number.isFinite(start) || (h === undefined && !new Date(start).toISOString().startsWith(named))) {
    throw new VitalGateError('RANGE_INVALID', 'the date does not exist');
  }
  return { start, end };
}

/** The range a list of `date` parameters bounds: `le` defaults to now, `ge` to 31 days before `le`. */
export function dateRange(params: readonly string[], now: number): { from: number; to: number } {
  let from: number | undefined;
  let to: number | undefined;
  const lower = (v: number) => (from = from === undefined ? v : Math.max(from, v));
  const upper = (v: number) => (to = to === undefined ? v : Math.min(to, v));
  for (const param of params) {
    const prefix = /^(ge|gt|le|lt|eq)/.exec(param)?.[1];
    const { start, end } = datePeriod(prefix ? param.slice(2) : param);
    if (prefix === 'ge') lower(start);
    else if (prefix === 'gt') lower(end + 1);
    else if (prefix === 'le') upper(end);
    else if (prefix === 'lt') upper(start - 1);
    else {
      lower(start);
      upper(end);
    }
  }
  to ??= now;
  from ??= to - MAX_RANGE_MS;
  if (from > to)
    throw new VitalGateError('RANGE_INVALID', 'the date range is empty (its start is after its end)');
  if (to - from > MAX_RANGE_MS) {
    throw new VitalGateError('RANGE_INVALID', 'a search spans at most 31 days; bound `date` with ge and le');
  }
  return { from, to };
}

export const OBSERVATION_PARAMS = [
  'patient',
  'code',
  'date',
  '_count',
  '_sort',
  '_offset',
  '_cursor',
] as const;

export function observationSearch(query: QueryValues, now: number): ObservationSearch {
  only(query, OBSERVATION_PARAMS);
  const patient = single(query, 'patient');
  if (!patient) bad('an Observation search names its `patient`');
  const codes = values(query, 'code').flatMap((v) => v.split(','));
  let types: ReadingType[] = [...FHIR_TYPES];
  for (const param of values(query, 'code')) {
    const named = new Set(param.split(',').flatMap(readingTypesForCode));
    types = types.filter((t) => named.has(t));
  }
  if (codes.some((c) => c.trim() === '')) bad('`code` has an empty token');
  const sort = single(query, '_sort');
  if (sort !== undefined && sort !== 'date' && sort !== '-date') bad('`_sort` is `date` or `-date`');
  const rawCursor = single(query, '_cursor');
  const cursor = rawCursor === undefined ? undefined : /^(\d{1,15})\.(\d{1,6})\.(\d{1,9})$/.exec(rawCursor);
  if (cursor === null) bad('`_cursor` comes from a `next` link as it was given');
  return {
    patientId: patientReference(patient),
    ...(cursor
      ? { cursor: { ts: Number(cursor[1]), skip: Number(cursor[2]), total: Number(cursor[3]) } }
      : {}),
    types,
    ...dateRange(values(query, 'date'), now),
    descending: sort === '-date',
    ...paging(query),
  };
}

export function patientSearch(query: QueryValues): Paging & { ids?: string[] } {
  only(query, ['_id', '_count', '_offset']);
  const raw = values(query, '_id').flatMap((v) => v.split(','));
  return { ...paging(query), ...(raw.length ? { ids: raw.map(patientReference) } : {}) };
}

export function deviceSearch(query: QueryValues): Paging & { patientId?: string } {
  only(query, ['patient', '_count', '_offset']);
  const patient = single(query, 'patient');
  return { ...paging(query), ...(patient ? { patientId: patientReference(patient) } : {}) };
}

/** Communications filed to one patient's record: `patient` (required) and paging. */
export function communicationSearch(query: QueryValues): Paging & { patientId: string } {
  only(query, ['patient', '_count', '_offset']);
  const patient = single(query, 'patient');
  if (!patient) bad('a Communication search names its `patient`');
  return { ...paging(query), patientId: patientReference(patient) };
}

/** `$everything`'s parameters: `start` and `end` (dates) and paging of its Observations. */
export function everythingParams(query: QueryValues, now: number): { from: number; to: number } & Paging {
  only(query, ['start', 'end', '_count', '_offset']);
  const start = single(query, 'start');
  const end = single(query, 'end');
  const bounds = [...(start ? [`ge${start}`] : []), ...(end ? [`le${end}`] : [])];
  return { ...dateRange(bounds, now), ...paging(query) };
}
