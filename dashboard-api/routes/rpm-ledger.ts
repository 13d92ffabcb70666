// The RPM ledger over HTTP: enrolment (consent, set-up date, billing practitioner), time
// entries (proposed, then confirmed by their clinician), a patient's monthly statement, the
// monthly close (an admin), and a closed month's statements as JSON, CSV or a FHIR Bundle of
// ChargeItems. Every read of a patient's ledger is a PHI read through the gate, audited. The rules
// are rpm/'s; this file maps HTTP to them.
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import { CONSENT_METHODS } from '../../rpm/enrolment.js';
import type { MonthlyStatement } from '../../rpm/monthly-statement.js';
import { TIME_ACTIVITIES } from '../../rpm/monthly-statement.js';
import { statementsBundle, statementsCsv, type SealedStatement } from '../../rpm/statement-export.js';
import { TIME_ORIGINS } from '../../rpm/time-log.js';
import type { Principal } from '../auth/sessions.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { instant, patientId, patientParams, username } from '../schemas.js';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD');
const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month as YYYY-MM');
const entryParams = z
  .object({
    entryId: z
      .string()
      .regex(/^\d{1,12}$/, 'not a time entry id')
      .transform(Number),
  })
  .strict();

export function registerRpmLedgerRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['rpm'];
  const { enrolments, timeLog, ledger } = ctx.rpm;
  /** A clinician needs the patient; an admin manages every patient's enrolment (no PHI beyond it). */
  const admit = (request: { principal?: Principal | undefined; ip: string }, id: string, what: string) => {
    const p = request.principal!;
    if (p.role !== 'clinician') return undefined;
    return ctx.guard.authorize(p, id, what, request.ip);
  };
  const actor = (request: { principal?: Principal | undefined }) => `user:${request.principal!.username}`;
  const enrolmentView = (id: string) => {
    const e = enrolments.require(id);
    return {
      patientId: id,
      monitoringStart: e.monitoringStart,
      endedOn: e.endedOn,
      consent:
        e.consentAt === null
          ? null
          : { at: new Date(e.consentAt).toISOString(), by: e.consentBy, method: e.consentMethod },
      setupDate: e.setupDate,
      billingPractitioners: ctx.store.rpmEnrolments
        .practitioners(id)
        .map((b) => ({ fromMonth: b.fromMonth, practitioner: b.practitioner })),
      timeZone: ctx.rpm.calendar.timeZone,
    };
  };

  app.get(
    '/patients/:id/rpm/enrolment',
    {
      config: { access: ['phi.read', 'patients.manage'], phi: 'rpm_enrolment' },
      schema: {
        tags,
        summary:
          'The patient’s RPM enrolment: consent, monitoring start and end, set-up date, billing practitioners.',
        params: patientParams,
      },
    },
    async (request) => {
      const id = request.params.id;
      const basis = admit(request, id, 'rpm_enrolment');
      const view = enrolmentView(id);
      if (basis) ctx.guard.recordRead(request.principal!, id, 'rpm_enrolment', request.ip, { via: basis });
      return view;
    },
  );

  app.put(
    '/patients/:id/rpm/enrolment',
    {
      config: { access: ['phi.read', 'patients.manage'], phi: 'rpm_enrolment_change' },
      schema: {
        tags,
        summary:
          'Enrols the patient in the RPM programme or changes the enrolment (site calendar dates); `consent` records consent given now by you. Dates in a closed month are refused (RPM_MONTH_CLOSED). Audited.',
        params: patientParams,
        body: z
          .object({
            monitoringStart: date.optional(),
            endedOn: date.nullable().optional(),
            setupDate: date.nullable().optional(),
            consent: z.enum(CONSENT_METHODS).optional(),
          })
          .strict(),
      },
    },
    async (request) => {
      const id = request.params.id;
      admit(request, id, 'rpm_enrolment_change');
      enrolments.enrol(id, request.body, actor(request), request.ip);
      return enrolmentView(id);
    },
  );

  app.put(
    '/patients/:id/rpm/billing-practitioner',
    {
      config: { access: ['phi.read', 'patients.manage'], phi: 'rpm_billing_practitioner' },
      schema: {
        tags,
        summary:
          'Sets the one billing practitioner (an active clinician) of the patient from a month on; closed months are refused. Audited.',
        params: patientParams,
        body: z.object({ practitioner: username, fromMonth: month }).strict(),
      },
    },
    async (request) => {
      const id = request.params.id;
      admit(request, id, 'rpm_billing_practitioner');
      enrolments.setPractitioner(
        id,
        request.body.practitioner,
        request.body.fromMonth,
        actor(request),
        request.ip,
      );
      return enrolmentView(id);
    },
  );

  app.post(
    '/patients/:id/rpm/time-entries',
    {
      config: { access: 'phi.read', phi: 'rpm_time_entry' },
      schema: {
        tags,
        summary:
          'Proposes a treatment-management time entry (a stopped timer or typed in). It counts only once you confirm it (POST /rpm/time-entries/{id}/confirm).',
        params: patientParams,
        body: z
          .object({
            startedAt: instant,
            minutes: z.number().int().min(1).max(480),
            activity: z.enum(TIME_ACTIVITIES),
            interactive: z.boolean(),
            origin: z.enum(TIME_ORIGINS).default('entry'),
            note: z.string().max(2000).optional(),
          })
          .strict(),
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      admit(request, id, 'rpm_time_entry');
      const entry = timeLog.propose(id, request.principal!.username, request.body, request.ip);
      return reply.code(201).send(entry);
    },
  );

  for (const [verb, state] of [
    ['confirm', 'confirmed'],
    ['discard', 'discarded'],
  ] as const) {
    app.post(
      `/rpm/time-entries/:entryId/${verb}`,
      {
        config: { access: 'phi.read', phi: `rpm_time_${verb}` },
        schema: {
          tags,
          summary: `${verb === 'confirm' ? 'Confirms (counts)' : 'Discards'} one of your proposed time entries. Audited.`,
          params: entryParams,
        },
      },
      async (request) => {
        const entry = timeLog.get(request.params.entryId);
        if (!entry) throw new VitalGateError('RPM_TIME_ENTRY_NOT_FOUND', 'no such time entry');
        admit(request, entry.patientId, `rpm_time_${verb}`);
        return timeLog.decide(request.params.entryId, request.principal!.username, state, request.ip);
      },
    );
  }

  app.get(
    '/patients/:id/rpm/time-entries',
    {
      config: { access: 'phi.read', phi: 'rpm_time_entries' },
      schema: {
        tags,
        summary:
          'The patient’s time entries of a month (site calendar), every state, with their notes (PHI, audited).',
        params: patientParams,
        querystring: z.object({ month }).strict(),
      },
    },
    async (request) => {
      const id = request.params.id;
      const basis = admit(request, id, 'rpm_time_entries');
      enrolments.require(id);
      const entries = timeLog.forMonth(id, request.query.month);
      ctx.guard.recordRead(request.principal!, id, 'rpm_time_entries', request.ip, {
        via: basis,
        month: request.query.month,
      });
      return { patientId: id, month: request.query.month, entries };
    },
  );

  app.get(
    '/patients/:id/rpm/statements/:month',
    {
      config: { access: 'phi.read', phi: 'rpm_statement' },
      schema: {
        tags,
        summary:
          'The patient’s statement of a month: sealed once the month is closed, else a draft as it stands (codes met, dates with readings, time entries). PHI, audited.',
        params: z.object({ id: patientId, month }).strict(),
      },
    },
    async (request) => {
      const { id, month: m } = request.params;
      const basis = admit(request, id, 'rpm_statement');
      const result = await ledger.statement(id, m);
      const stored = ctx.store.rpmStatements.get(id, m);
      ctx.guard.recordRead(request.principal!, id, 'rpm_statement', request.ip, { via: basis, month: m });
      return {
        ...result,
        ...(stored ? { sha256: stored.hash, closedAt: new Date(stored.closedAt).toISOString() } : {}),
      };
    },
  );

  app.post(
    '/rpm/months/:month/close',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary:
          'Closes a month that is over: every enrolled patient gets a statement, sealed into the audit chain (RPM_MONTH_NOT_OVER, RPM_MONTH_CLOSED). Answers counts only.',
        params: z.object({ month }).strict(),
      },
    },
    async (request) => {
      const closed = await ledger.close(request.params.month, actor(request));
      return {
        month: closed.month,
        statements: closed.statements,
        closedAt: new Date(closed.closedAt).toISOString(),
      };
    },
  );

  app.get(
    '/rpm/months/:month/statements',
    {
      config: { access: 'phi.read', phi: 'rpm_statement' },
      schema: {
        tags,
        summary:
          'The sealed statements of a closed month for your accessible patients, as JSON, CSV (`format=csv`) or a FHIR R4 Bundle of ChargeItems (`format=fhir`). Each patient is a PHI read, audited.',
        params: z.object({ month }).strict(),
        querystring: z.object({ format: z.enum(['json', 'csv', 'fhir']).default('json') }).strict(),
      },
    },
    async (request, reply) => {
      const m = request.params.month;
      if (!ctx.store.rpmStatements.monthClose(m))
        throw new VitalGateError('RPM_STATEMENT_NOT_FOUND', `${m} is not closed yet`);
      const p = request.principal!;
      const items: SealedStatement[] = [];
      for (const { patientId: id, basis } of ctx.guard.accessiblePatients(p.username)) {
        const stored = ctx.store.rpmStatements.get(id, m);
        if (!stored) continue;
        items.push({
          statement: JSON.parse(stored.content) as MonthlyStatement,
          sha256: stored.hash,
          closedAt: stored.closedAt,
        });
        ctx.guard.recordRead(p, id, 'rpm_statement', request.ip, {
          via: basis,
          month: m,
          list: true,
          format: request.query.format,
        });
      }
      items.sort((a, b) => (a.statement.patientId < b.statement.patientId ? -1 : 1));
      if (request.query.format === 'csv')
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="rpm-${m}.csv"`)
          .send(statementsCsv(items));
      if (request.query.format === 'fhir')
        return reply.type('application/fhir+json').send(statementsBundle(m, items, ctx.now()));
      return {
        month: m,
        statements: items.map((i) => ({ ...i, closedAt: new Date(i.closedAt).toISOString() })),
      };
    },
  );
}
