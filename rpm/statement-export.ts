// A closed month's statements for the billing system: CSV (one row per code, or one row for a
// patient without codes) and FHIR R4, as a `collection` Bundle of `ChargeItem` resources.
// ChargeItem is FHIR's resource for "a billable item of a service, with its code, subject,
// performer, date and quantity", which is exactly a met code; a Claim is the billing system's to
// make (it needs coverage and diagnoses the hub does not hold), and one Bundle per month keeps a
// month's items together and lets the receiver take them as one. Each ChargeItem carries the
// SHA-256 of the sealed statement it comes from, so the billing side can check it against the
// hub's audit chain.
import { createHash } from 'node:crypto';
import { fhirPatientId } from '../fhir/ids.js';
import { RPM_CODES } from './cms-rules.js';
import type { MonthlyStatement } from './monthly-statement.js';
import { firstOfMonth, lastOfMonth } from './site-calendar.js';

export interface SealedStatement {
  statement: MonthlyStatement;
  sha256: string;
  closedAt: number;
}

export const CPT_SYSTEM = 'http://www.ama-assn.org/go/cpt';
export const STATEMENT_HASH_SYSTEM = 'urn:vitalgate:rpm-statement-sha256';
const USER_SYSTEM = 'urn:vitalgate:user';

const CSV_HEADER = [
  'month',
  'patient_id',
  'billing_practitioner',
  'code',
  'units',
  'basis',
  'billable',
  'problems',
  'statement_sha256',
];

/** One CSV field: quoted when needed; a leading formula character is neutralised. */
function csvField(value: string | number | boolean | null): string {
  let s = value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function statementsCsv(items: readonly SealedStatement[]): string {
  const lines = [CSV_HEADER.join(',')];
  for (const { statement: s, sha256 } of items) {
    const base = [s.month, s.patientId, s.billingPractitioner];
    const tail = (billable: boolean) => [billable, s.problems.join('; '), sha256];
    if (s.codes.length === 0) lines.push([...base, '', 0, '', ...tail(false)].map(csvField).join(','));
    for (const c of s.codes)
      lines.push([...base, c.code, c.units, c.basis, ...tail(s.billable)].map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

type Json = Record<string, unknown>;

export function statementsBundle(month: string, items: readonly SealedStatement[], now: number): Json {
  const entries: Json[] = [];
  for (const { statement: s, sha256, closedAt } of items) {
    s.codes.forEach((c, i) => {
      const period = s.supplyPeriods.find((p) => c.basis.startsWith(`supply period ${p.index} `));
      const id = `rpm-${fhirPatientId(s.patientId)}-${month}-${i + 1}`;
      const resource: Json = {
        resourceType: 'ChargeItem',
        id,
        identifier: [{ system: STATEMENT_HASH_SYSTEM, value: sha256 }],
        status: s.billable ? 'billable' : 'not-billable',
        code: { coding: [{ system: CPT_SYSTEM, code: c.code, display: RPM_CODES[c.code] }], text: c.basis },
        subject: { reference: `Patient/${fhirPatientId(s.patientId)}` },
        occurrencePeriod: period
          ? { start: period.first, end: period.last }
          : { start: firstOfMonth(month), end: lastOfMonth(month) },
        quantity: { value: c.units },
        enteredDate: new Date(closedAt).toISOString(),
        ...(s.billingPractitioner
          ? { performer: [{ actor: { identifier: { system: USER_SYSTEM, value: s.billingPractitioner } } }] }
          : {}),
        ...(s.problems.length ? { note: s.problems.map((text) => ({ text })) } : {}),
      };
      entries.push({ fullUrl: `urn:uuid:${uuidFrom(id)}`, resource });
    });
  }
  return {
    resourceType: 'Bundle',
    type: 'collection',
    identifier: { system: 'urn:vitalgate:rpm-month', value: month },
    timestamp: new Date(now).toISOString(),
    entry: entries,
  };
}

/** A stable UUID-shaped name for a resource id (fullUrl must be absolute). */
function uuidFrom(id: string): string {
  const hex = createHash('sha256').update(id).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
