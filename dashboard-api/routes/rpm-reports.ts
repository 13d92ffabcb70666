// The clinical report as a PDF, and filed to the chart as a FHIR DocumentReference (rpm/). Both
// are PHI reads of the patient through the gate, audited; filing is audited as well.
import { z } from 'zod';
import type { ReportPeriod } from '../../rpm/clinical-report.js';
import { reportPdf } from '../../rpm/report-pdf.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { patientParams } from '../schemas.js';

export const reportDays = z
  .enum(['7', '14', '30', '90'], { message: 'expected 7, 14, 30 or 90' })
  .default('30')
  .transform((d) => Number(d) as ReportPeriod);

export function registerRpmReportRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['rpm'];

  app.get(
    '/patients/:id/rpm/report/pdf',
    {
      config: { access: 'phi.read', phi: 'rpm_report' },
      schema: {
        tags,
        summary: 'The clinical report as a PDF (pdfkit), for printing or the chart. PHI, audited.',
        params: patientParams,
        querystring: z.object({ days: reportDays }).strict(),
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const id = request.params.id;
      const basis = ctx.guard.authorize(p, id, 'rpm_report', request.ip);
      const report = await ctx.rpm.reports.report(id, request.query.days);
      const pdf = await reportPdf(report, new Date(ctx.now()));
      ctx.guard.recordRead(p, id, 'rpm_report', request.ip, {
        via: basis,
        days: request.query.days,
        format: 'pdf',
      });
      return reply
        .type('application/pdf')
        .header('content-disposition', `attachment; filename="rpm-report-${id}-${request.query.days}d.pdf"`)
        .header('cache-control', 'no-store')
        .send(pdf);
    },
  );

  app.post(
    '/patients/:id/rpm/report/file',
    {
      config: { access: 'phi.read', phi: 'rpm_report_file' },
      schema: {
        tags,
        summary:
          'Files the clinical report to the chart: its PDF is kept sealed under the patient’s key and answered as a FHIR R4 DocumentReference (what the EHR push sends). Audited.',
        params: patientParams,
        body: z
          .object({ days: z.union([z.literal(7), z.literal(14), z.literal(30), z.literal(90)]) })
          .strict(),
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const id = request.params.id;
      const basis = ctx.guard.authorize(p, id, 'rpm_report_file', request.ip);
      const report = await ctx.rpm.reports.report(id, request.body.days);
      const pdf = await reportPdf(report, new Date(ctx.now()));
      const document = ctx.rpm.filing.file(report, pdf, `user:${p.username}`, request.ip);
      ctx.guard.recordRead(p, id, 'rpm_report', request.ip, {
        via: basis,
        days: request.body.days,
        format: 'filed',
      });
      return reply.code(201).type('application/fhir+json').send(document);
    },
  );
}
