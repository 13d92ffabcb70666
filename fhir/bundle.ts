// Bundles and OperationOutcomes: the two envelopes every FHIR answer comes in.
import { createHash } from 'node:crypto';

type Json = Record<string, unknown>;

export interface BundlePage {
  /** Every match of the search, not only this page's. */
  total: number;
  selfUrl: string;
  nextUrl?: string | undefined;
}

/** A `searchset` Bundle: matches first (`search.mode: match`), then included resources. */
export function searchsetBundle(
  baseUrl: string,
  matches: readonly Json[],
  page: BundlePage,
  included: readonly Json[] = [],
): Json {
  const entry = [
    ...matches.map((resource) => entryOf(baseUrl, resource, 'match')),
    ...included.map((resource) => entryOf(baseUrl, resource, 'include')),
  ];
  return { ...bundleHead(page), entry };
}

/** A searchset Bundle's fields before its entries, in the order they are written. */
function bundleHead(page: BundlePage): Json {
  const link = [{ relation: 'self', url: page.selfUrl }];
  if (page.nextUrl) link.push({ relation: 'next', url: page.nextUrl });
  return {
    resourceType: 'Bundle',
    id: createHash('sha256').update(`${page.selfUrl}|${Date.now()}`).digest('hex').slice(0, 32),
    meta: { lastUpdated: new Date().toISOString() },
    type: 'searchset',
    total: page.total,
    link,
  };
}

/** The same searchset Bundle as JSON text, from entries already written as JSON text. */
export function searchsetBundleJson(entries: readonly string[], page: BundlePage): string {
  const head = JSON.stringify(bundleHead(page));
  return `${head.slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

function entryOf(baseUrl: string, resource: Json, mode: 'match' | 'include'): Json {
  return {
    fullUrl: `${baseUrl}/${String(resource.resourceType)}/${String(resource.id)}`,
    resource,
    search: { mode },
  };
}

/** FHIR issue types for the hub's error codes' HTTP statuses. */
function issueType(status: number): string {
  if (status === 401 || status === 403) return 'security';
  if (status === 404) return 'not-found';
  if (status === 405) return 'not-supported';
  if (status === 413) return 'too-costly';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'exception';
  return 'invalid';
}

/** An OperationOutcome for an error: the hub's code as `details`, its message as text, no echo of input. */
export function operationOutcome(status: number, code: string, message: string): Json {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: status >= 500 ? 'fatal' : 'error',
        code: issueType(status),
        details: { coding: [{ system: 'urn:vitalgate:error', code }], text: message },
        diagnostics: code,
      },
    ],
  };
}
