// `GET /me/patients` and `GET /me/patients/{id}`: the clinician's summary of each accessible
// patient (latest vitals with time and trend, open alerts, devices reporting, thresholds,
// break-glass end), attention first. What the console's "My patients" and patient view open
// with. Each patient's summary is a PHI read, audited like any other.
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { patientParams } from '../schemas.js';
import { CareSummary, byAttention, type PatientSummary } from '../services/care-summary.js';

const SUMMARY_CONCURRENCY = 8;

export function registerCareSummaryRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['patients'];
  const summary = new CareSummary(ctx);
  if (ctx.deps.primeSummaries) {
    // Every patient not erased, in the background once the server is ready.
    let stopping = false;
    app.addHook('onReady', async () => {
      const ids = ctx.store.patients
        .list()
        .filter((p) => p.erasedAt === null)
        .map((p) => p.id);
      ctx.summariesPrimed = summary.prime(ids, () => stopping);
    });
    app.addHook('onClose', async () => {
      stopping = true;
      await ctx.summariesPrimed;
    });
  }

  app.get(
    '/me/patients',
    {
      config: { access: 'phi.read', phi: 'patient_summary' },
      schema: {
        tags,
        summary:
          'Your accessible patients with their latest vitals, trends, open alerts, devices and thresholds; attention first (PHI, each patient audited).',
        querystring: z.object({}).strict(),
      },
    },
    async (request) => {
      const p = request.principal!;
      const todo = ctx.guard.accessiblePatients(p.username).filter(({ patientId }) => {
        const record = ctx.store.patients.get(patientId);
        if (record?.erasedAt !== null) summary.forget(patientId);
        return record !== undefined && record.erasedAt === null;
      });
      // A few patients at a time: InfluxDB answers reads in parallel, and a ward has dozens.
      const out: PatientSummary[] = [];
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const { patientId, basis } = todo[next++]!;
          out.push(await summary.patient(p.username, patientId, basis));
          ctx.guard.recordRead(p, patientId, 'patient_summary', request.ip, { via: basis, list: true });
        }
      };
      await Promise.all(Array.from({ length: Math.min(SUMMARY_CONCURRENCY, todo.length) }, worker));
      return { generatedAt: new Date(ctx.now()).toISOString(), patients: out.sort(byAttention) };
    },
  );

  app.get(
    '/me/patients/:id',
    {
      config: { access: 'phi.read', phi: 'patient_summary' },
      schema: {
        tags,
        summary: 'The summary of one accessible patient (PHI, audited).',
        params: patientParams,
      },
    },
    async (request) => {
      const p = request.principal!;
      const id = request.params.id;
      const basis = ctx.guard.authorize(p, id, 'patient_summary', request.ip);
      const record = ctx.store.patients.get(id);
      if (!record) throw new VitalGateError('PATIENT_NOT_FOUND', 'no such patient');
      if (record.erasedAt !== null) {
        summary.forget(id);
        throw new VitalGateError('PATIENT_ERASED', 'this patient was erased');
      }
      const one = await summary.patient(p.username, id, basis);
      ctx.guard.recordRead(p, id, 'patient_summary', request.ip, { via: basis });
      return one;
    },
  );
}
