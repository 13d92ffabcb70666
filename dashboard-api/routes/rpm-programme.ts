// The RPM programme view: adherence of each accessible enrolled patient, falling behind first,
// with a filter by days of data in the rolling 30 days, and one patient's adherence. Each
// patient is a PHI read through the gate, audited. Computed in rpm/adherence.ts from InfluxDB's
// minute rollups.
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { patientParams } from '../schemas.js';
import { reportDays } from './rpm-reports.js';

const dayCount = z
  .string()
  .regex(/^\d{1,2}$/, 'expected a number of days from 0 to 30')
  .transform(Number)
  .refine((n) => n <= 30, 'expected a number of days from 0 to 30')
  .optional();

export function registerRpmProgrammeRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['rpm'];

  app.get(
    '/rpm/programme',
    {
      config: { access: 'phi.read', phi: 'rpm_adherence' },
      schema: {
        tags,
        summary:
          'Adherence of your accessible enrolled patients, falling behind first: days with sensed readings in the rolling 30 days, the running 30-day period against 16 days, each device’s last reading and cadence. Filter by days of data (minDays, maxDays). PHI, each patient audited.',
        querystring: z
          .object({ minDays: dayCount, maxDays: dayCount })
          .strict()
          .refine((q) => q.minDays === undefined || q.maxDays === undefined || q.minDays <= q.maxDays, {
            message: 'minDays must not exceed maxDays',
            path: ['minDays'],
          }),
      },
    },
    async (request) => {
      const p = request.principal!;
      const accessible = ctx.guard.accessiblePatients(p.username);
      const basis = new Map(accessible.map((a) => [a.patientId, a.basis]));
      const patients = await ctx.rpm.adherence.programme(
        accessible.map((a) => a.patientId),
        request.query,
      );
      for (const one of patients)
        ctx.guard.recordRead(p, one.patientId, 'rpm_adherence', request.ip, {
          via: basis.get(one.patientId),
          list: true,
        });
      return {
        generatedAt: new Date(ctx.now()).toISOString(),
        timeZone: ctx.rpm.calendar.timeZone,
        filter: request.query,
        patients,
      };
    },
  );

  app.get(
    '/patients/:id/rpm/adherence',
    {
      config: { access: 'phi.read', phi: 'rpm_adherence' },
      schema: {
        tags,
        summary:
          'One patient’s adherence: days of sensed data, the running period, each device’s last reading and cadence (PHI, audited).',
        params: patientParams,
      },
    },
    async (request) => {
      const p = request.principal!;
      const id = request.params.id;
      const basis = ctx.guard.authorize(p, id, 'rpm_adherence', request.ip);
      const one = await ctx.rpm.adherence.patient(id);
      ctx.guard.recordRead(p, id, 'rpm_adherence', request.ip, { via: basis });
      return one;
    },
  );

  app.get(
    '/patients/:id/rpm/report',
    {
      config: { access: 'phi.read', phi: 'rpm_report' },
      schema: {
        tags,
        summary:
          'The patient’s clinical report for the last 7, 14, 30 or 90 days (site calendar): glucose time in ranges and AGP percentiles by hour, blood pressure morning/evening and share above 135/85, weight trend, SpO2 and heart rate time below/above thresholds, alerts and time to acknowledge. From the sealed minute rollups. PHI, audited.',
        params: patientParams,
        querystring: z
          .object({
            days: reportDays,
          })
          .strict(),
      },
    },
    async (request) => {
      const p = request.principal!;
      const id = request.params.id;
      const basis = ctx.guard.authorize(p, id, 'rpm_report', request.ip);
      const report = await ctx.rpm.reports.report(id, request.query.days);
      ctx.guard.recordRead(p, id, 'rpm_report', request.ip, { via: basis, days: request.query.days });
      return report;
    },
  );
}
