// Filing a clinical report to the chart: the report's PDF (report-pdf.ts) is kept sealed under
// the patient's key and becomes a FHIR R4 DocumentReference (LOINC 11506-3 "Progress note",
// category "clinical-note", the PDF as its attachment with its SHA-1 as FHIR asks, and the
// period as `context.period`).
//
// The hook for the EHR push (issue #16, fhir/push-*.ts): the outbox sends what a patient's
// `$everything` export holds. `documentReferences(patientId)` gives the filed reports as
// resources; the FHIR repository's `$everything` includes them (as it includes filed
// Communications), and the push sends them with the rest.
import { createHash, randomUUID } from 'node:crypto';
import type { AuditLog } from '../core/audit.js';
import type { Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import type { FiledReport, RpmFiledReportRepository } from '../core/store/rpm-filed-reports.js';
import { fhirPatientId } from '../fhir/ids.js';
import type { ClinicalReport } from './clinical-report.js';

const pdfAad = (r: Pick<FiledReport, 'id' | 'patientId'>) => `rpm-report-pdf|${r.patientId}|${r.id}`;

export class ReportFiling {
  constructor(
    private readonly deps: {
      reports: RpmFiledReportRepository;
      keyring: Keyring;
      audit: AuditLog;
      now: () => number;
    },
  ) {}

  /** Seals and keeps the PDF, audits the filing; the DocumentReference it becomes. */
  file(report: ClinicalReport, pdf: Buffer, actor: string, source?: string): Record<string, unknown> {
    const id = `rpm-report-${randomUUID()}`;
    const sealer = this.deps.keyring.sealer(patientKeySubject(report.patientId));
    const filed: FiledReport = {
      id,
      patientId: report.patientId,
      days: report.period.days,
      periodFrom: Date.parse(report.period.from),
      periodTo: Date.parse(report.period.to),
      filedBy: actor,
      filedAt: this.deps.now(),
      sha256: createHash('sha256').update(pdf).digest('hex'),
      keyVersion: sealer.keyVersion,
      sealedPdf: sealer.seal(pdf, pdfAad({ id, patientId: report.patientId })),
    };
    this.deps.reports.add(filed);
    this.deps.audit.append({
      actor,
      action: 'rpm.report.file',
      target: `patient:${report.patientId}`,
      outcome: 'success',
      source,
      details: { report: id, days: filed.days, sha256: filed.sha256 },
    });
    return documentReference(filed, pdf);
  }

  /** The patient's filed reports as DocumentReferences (the hook for `$everything` and the push). */
  documentReferences(patientId: string): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const r of this.deps.reports.forPatient(patientId)) {
      try {
        const pdf = this.deps.keyring.open(
          patientKeySubject(patientId),
          r.keyVersion,
          r.sealedPdf,
          pdfAad(r),
        );
        out.push(documentReference(r, pdf));
      } catch {
        // An erased patient's reports no longer open: they are gone with the key.
      }
    }
    return out;
  }
}

export function documentReference(r: FiledReport, pdf: Buffer): Record<string, unknown> {
  return {
    resourceType: 'DocumentReference',
    id: r.id,
    identifier: [{ system: 'urn:vitalgate:rpm-report', value: r.id }],
    status: 'current',
    docStatus: 'final',
    type: {
      coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }],
      text: 'Remote monitoring report',
    },
    category: [
      {
        coding: [
          {
            system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
            code: 'clinical-note',
            display: 'Clinical Note',
          },
        ],
      },
    ],
    subject: { reference: `Patient/${fhirPatientId(r.patientId)}` },
    date: new Date(r.filedAt).toISOString(),
    author: [{ identifier: { system: 'urn:vitalgate:user', value: r.filedBy.replace(/^user:/, '') } }],
    description: `Remote monitoring report, ${r.days} days`,
    content: [
      {
        attachment: {
          contentType: 'application/pdf',
          data: pdf.toString('base64'),
          size: pdf.length,
          hash: createHash('sha1').update(pdf).digest('base64'),
          title: `RPM report ${new Date(r.periodFrom).toISOString().slice(0, 10)} to ${new Date(r.periodTo).toISOString().slice(0, 10)}`,
          creation: new Date(r.filedAt).toISOString(),
        },
      },
    ],
    context: {
      period: { start: new Date(r.periodFrom).toISOString(), end: new Date(r.periodTo).toISOString() },
    },
  };
}
