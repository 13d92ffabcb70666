// FHIR transactions for the EHR: every resource is a conditional create on the identifier the
// hub owns (`ifNoneExist`), so a transaction sent again after a lost answer stores nothing twice;
// an alert's Flag, whose status changes, is a conditional update (`PUT Flag?identifier=…`).
// The patient's Patient and the Devices the resources name come first, as conditional creates
// too, and references to them become the transaction's `urn:uuid` full URLs (the EHR resolves
// them to its own ids). References to other hub resources that are not in the transaction
// become logical references by identifier. No HTTP here.
import { createHash } from 'node:crypto';
import { IDENTIFIER_SYSTEMS } from './resources.js';

type Json = Record<string, unknown>;

const DEVICE_SYSTEM = IDENTIFIER_SYSTEMS.device;

/** The identifier system the hub uses for resources of a type it creates in the EHR. */
export function identifierSystem(resourceType: string): string {
  return `urn:vitalgate:${resourceType.toLowerCase()}`;
}

function uuidOf(value: string): string {
  const h = createHash('sha256').update(value).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function firstIdentifier(resource: Json): { system: string; value: string } | undefined {
  const list = resource.identifier as { system?: string; value?: string }[] | undefined;
  const first = list?.[0];
  return first?.system && first.value ? { system: first.system, value: first.value } : undefined;
}

/** A resource as the EHR creates it: no hub `id`, its profiles and security labels kept, identifier first. */
export function withHubIdentifier(resource: Json): Json {
  const { id, meta, ...rest } = resource;
  const { profile, security } = (meta ?? {}) as { profile?: string[]; security?: Json[] };
  const kept = { ...(profile ? { profile } : {}), ...(security ? { security } : {}) };
  const identifier = firstIdentifier(resource)
    ? (resource.identifier as Json[])
    : [{ system: identifierSystem(String(resource.resourceType)), value: String(id) }];
  return { ...rest, ...(profile || security ? { meta: kept } : {}), identifier };
}

/** Resource types sent as conditional updates: one resource whose state changes (an alert's Flag). */
const UPDATED = new Set(['Flag']);

function conditionalCreate(fullUrl: string, resource: Json): Json {
  const identifier = firstIdentifier(resource)!;
  const type = String(resource.resourceType);
  const search = `identifier=${encodeURIComponent(identifier.system)}|${encodeURIComponent(identifier.value)}`;
  if (UPDATED.has(type)) return { fullUrl, resource, request: { method: 'PUT', url: `${type}?${search}` } };
  return {
    fullUrl,
    resource,
    request: {
      method: 'POST',
      url: String(resource.resourceType),
      ifNoneExist: `identifier=${encodeURIComponent(identifier.system)}|${encodeURIComponent(identifier.value)}`,
    },
  };
}

/**
 * One transaction: the Patient, the Devices referenced, then `resources` in order. `patient` and
 * `devices` are the hub's FHIR resources (ids as the facade serves them).
 */
export function pushTransaction(patient: Json, devices: readonly Json[], resources: readonly Json[]): Json {
  const urls = new Map<string, string>();
  const patientUrl = uuidOf(`${IDENTIFIER_SYSTEMS.patient}|${String(patient.id)}`);
  urls.set(`Patient/${String(patient.id)}`, patientUrl);
  const patientEntry = conditionalCreate(patientUrl, withHubIdentifier(patient));
  const deviceEntries = devices.map((device) => {
    const identifier = firstIdentifier(device);
    const url = uuidOf(`${identifier?.system ?? DEVICE_SYSTEM}|${identifier?.value ?? String(device.id)}`);
    urls.set(`Device/${String(device.id)}`, url);
    return { url, device };
  });
  const local = resources.map((r) => `${String(r.resourceType)}/${String(r.id)}`);
  const entries = resources.map((r) => {
    const resource = withHubIdentifier(r);
    const url = uuidOf(`${String(r.resourceType)}|${firstIdentifier(resource)!.value}`);
    return { url, resource };
  });
  local.forEach((ref, i) => urls.set(ref, entries[i]!.url));
  // A Flag raised and ended before it was sent is one resource: only its last state goes.
  const last = new Map(entries.map((e, i) => [e.url, i]));
  const sent = entries.filter((e, i) => last.get(e.url) === i);
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      patientEntry,
      ...deviceEntries.map(({ url, device }) =>
        conditionalCreate(url, rewrite(withHubIdentifier(device), urls) as Json),
      ),
      ...sent.map(({ url, resource }) => conditionalCreate(url, rewrite(resource, urls) as Json)),
    ],
  };
}

/** References to resources in the transaction become their full URLs; other hub ones, identifiers. */
function rewrite(value: unknown, urls: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewrite(v, urls));
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value as Json)) out[key] = rewrite(v, urls);
  const ref = out.reference;
  if (typeof ref === 'string' && !ref.startsWith('urn:') && !ref.includes('://')) {
    const url = urls.get(ref);
    if (url) return { ...out, reference: url };
    const [type, id] = ref.split('/');
    if (type && id) {
      const { reference: _dropped, ...rest } = out;
      return { ...rest, type, identifier: { system: identifierSystem(type), value: id } };
    }
  }
  return out;
}

/** The Device ids (facade ids) a resource refers to. */
export function deviceIdsOf(resource: Json): string[] {
  const ids: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      const ref = (value as Json).reference;
      if (typeof ref === 'string' && ref.startsWith('Device/')) ids.push(ref.slice('Device/'.length));
      Object.values(value as Json).forEach(walk);
    }
  };
  walk(resource);
  return [...new Set(ids)];
}

export type PushVerdict =
  | { kind: 'stored' }
  /** Worth trying again later: the EHR is down, slow, busy, or our token lapsed. */
  | { kind: 'retry'; error: string; retryAfterMs?: number | undefined }
  /** The EHR refused the content for good: set aside (or split the transaction to find the item). */
  | { kind: 'refused'; error: string; outcome?: Json | undefined };

/** HTTP statuses that say the content itself is wrong: sending it again will not help. */
const PERMANENT = new Set([400, 404, 405, 410, 413, 415, 422]);

/** What an EHR's answer to a transaction means. Errors name statuses and codes, never content. */
export function verdictOf(status: number, body: unknown, retryAfter?: string): PushVerdict {
  const json = typeof body === 'object' && body !== null ? (body as Json) : undefined;
  if (status >= 200 && status < 300) {
    const entries = (json?.entry as { response?: { status?: string } }[] | undefined) ?? [];
    const bad = entries.find((e) => !/^(200|201)\b/.test(e.response?.status ?? ''));
    if (json?.resourceType !== 'Bundle' || json.type !== 'transaction-response' || bad)
      return { kind: 'retry', error: `HTTP ${status}: not a transaction-response with every entry stored` };
    return { kind: 'stored' };
  }
  const outcome = json?.resourceType === 'OperationOutcome' ? json : undefined;
  const codes = outcome ? issueCodes(outcome) : '';
  const error = `HTTP ${status}${codes ? `: ${codes}` : ''}`;
  if (PERMANENT.has(status)) return { kind: 'refused', error, outcome };
  const seconds = retryAfter !== undefined ? Number(retryAfter) : NaN;
  return { kind: 'retry', error, retryAfterMs: Number.isFinite(seconds) ? seconds * 1000 : undefined };
}

/** An OperationOutcome's issue codes (`code` and coded details), without its free text. */
function issueCodes(outcome: Json): string {
  const issues = (outcome.issue as { code?: string; details?: { coding?: { code?: string }[] } }[]) ?? [];
  return issues
    .slice(0, 3)
    .map((i) => [i.code, ...(i.details?.coding ?? []).map((c) => c.code)].filter(Boolean).join('/'))
    .join(', ')
    .replace(/[^A-Za-z0-9_.,/ -]/g, '')
    .slice(0, 200);
}
