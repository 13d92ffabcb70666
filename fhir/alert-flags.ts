// The hub's alerts as FHIR R4 `Flag`s for the EHR push. A Flag, not a DetectedIssue: an alert
// is a warning about the patient's state that whoever opens the chart should see while it lasts
// (a Flag is "a prospective warning ... of potential issues when providing care", active from its
// raise until its condition clears); DetectedIssue is about a proposed or ongoing clinical action
// (a drug interaction, a duplicate order), which an alert on readings is not. The Flag is
// `active` while the alert's condition lasts and `inactive` with `period.end` once it cleared (by
// its rule or a clinician). No HTTP here.
import type { Db } from '../core/store/database.js';
import { fhirDeviceId, fhirPatientId } from './ids.js';

type Json = Record<string, unknown>;

export const ALERT_SYSTEM = 'urn:vitalgate:alert';
const RULE_SYSTEM = 'urn:vitalgate:alert-rule';

interface AlertRow {
  id: number;
  patient_id: string;
  device_id: string;
  rule: string;
  severity: string;
  raised_at: number;
  cleared_at: number | null;
}

/** One alert as a Flag, in the state it was in at `at`. */
export function toFlag(alert: AlertRow, at: number): Json {
  const ended = alert.cleared_at !== null && alert.cleared_at <= at;
  const rule = alert.rule.replaceAll('_', ' ');
  return {
    resourceType: 'Flag',
    identifier: [{ system: ALERT_SYSTEM, value: String(alert.id) }],
    status: ended ? 'inactive' : 'active',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/flag-category',
            code: 'clinical',
            display: 'Clinical',
          },
        ],
      },
    ],
    code: {
      coding: [{ system: RULE_SYSTEM, code: alert.rule }],
      text: `Remote monitoring alert: ${rule} (${alert.severity})`,
    },
    subject: { reference: `Patient/${fhirPatientId(alert.patient_id)}` },
    period: {
      start: new Date(alert.raised_at).toISOString(),
      ...(ended ? { end: new Date(alert.cleared_at!).toISOString() } : {}),
    },
    author: { reference: `Device/${fhirDeviceId(alert.device_id)}` },
  };
}

/**
 * The patient's alerts that were raised or ended in (from, to], each as a Flag in its state at
 * `to`, with the outbox key of that state (a raise and its end are two sends of one Flag).
 */
export function alertFlagsBetween(
  db: Db,
  patientId: string,
  from: number,
  to: number,
): { key: string; resource: Json }[] {
  const rows = db
    .prepare(
      `SELECT id, patient_id, device_id, rule, severity, raised_at, cleared_at FROM alerts
       WHERE patient_id = ? AND ((raised_at > ? AND raised_at <= ?) OR (cleared_at > ? AND cleared_at <= ?))
       ORDER BY raised_at, id`,
    )
    .all(patientId, from, to, from, to) as AlertRow[];
  return rows.map((row) => {
    const resource = toFlag(row, to);
    return { key: `${ALERT_SYSTEM}|${row.id}|${String(resource.status)}`, resource };
  });
}
