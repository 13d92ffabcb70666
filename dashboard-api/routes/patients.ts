// Patients: registration, assignments and erasure (admin, no PHI shown), demographics for the
// clinicians who may read them (PHI, audited), and break-glass.
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import { requireStepUp } from '../auth/step-up.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { patientParams, patientId, reason, username } from '../schemas.js';

const demographics = z
  .object({
    name: z.string().trim().min(1).max(200),
    birthDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD'),
    mrn: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'expected 1 to 64 letters, digits or -')
      .optional(),
  })
  .strict();

export function registerPatientRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['patients'];
  const actor = (r: { principal?: { username: string } }) => `user:${r.principal!.username}`;

  app.get(
    '/patients',
    {
      config: { access: ['phi.read', 'patients.manage'], phi: 'patient_list' },
      schema: {
        tags,
        summary:
          'Clinicians: their assigned patients (and break-glass ones) with demographics, each read audited. Admins: ids and assignments, no demographics.',
      },
    },
    async (request) => {
      const p = request.principal!;
      if (p.role !== 'clinician') {
        return ctx.store.patients
          .list()
          .filter((r) => r.erasedAt === null)
          .map((r) => ({
            id: r.id,
            createdAt: new Date(r.createdAt).toISOString(),
            assignees: ctx.store.patients.assigneesOf(r.id),
            devices: ctx.store.devices.list({ patientId: r.id }).map((d) => d.id),
          }));
      }
      const out = [];
      for (const { patientId: id, basis } of ctx.guard.accessiblePatients(p.username)) {
        const record = ctx.store.patients.get(id);
        if (!record || record.erasedAt !== null) continue;
        const patient = ctx.patients.get(id);
        ctx.guard.recordRead(p, id, 'demographics', request.ip, { via: basis, list: true });
        out.push({
          id,
          name: patient.name,
          birthDate: patient.birthDate,
          ...(patient.mrn ? { mrn: patient.mrn } : {}),
          access: basis,
          devices: ctx.store.devices.list({ patientId: id }).map((d) => d.id),
        });
      }
      return out;
    },
  );

  app.post(
    '/patients',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary: 'Registers a patient; demographics are sealed under the patient’s own key.',
        body: demographics,
        response: { 201: z.object({ id: patientId }) },
      },
    },
    async (request, reply) => reply.status(201).send(ctx.patients.add(request.body, actor(request))),
  );

  app.get(
    '/patients/:id',
    {
      config: { access: 'phi.read', phi: 'demographics' },
      schema: {
        tags,
        summary: 'Demographics and devices of an accessible patient (PHI, audited).',
        params: patientParams,
      },
    },
    async (request) => {
      const p = request.principal!;
      const id = request.params.id;
      const basis = ctx.guard.authorize(p, id, 'demographics', request.ip);
      const patient = ctx.patients.get(id);
      ctx.guard.recordRead(p, id, 'demographics', request.ip, { via: basis });
      return {
        id,
        name: patient.name,
        birthDate: patient.birthDate,
        ...(patient.mrn ? { mrn: patient.mrn } : {}),
        createdAt: new Date(patient.createdAt).toISOString(),
        access: basis,
        devices: ctx.store.devices
          .list({ patientId: id })
          .map((d) => ({ id: d.id, kind: d.kind, status: d.status })),
      };
    },
  );

  app.get(
    '/patients/:id/assignments',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary: 'Clinicians assigned to a patient.',
        params: patientParams,
        response: { 200: z.object({ patientId: z.string(), assignees: z.array(z.string()) }) },
      },
    },
    async (request) => {
      ctx.store.patients.require(request.params.id);
      return { patientId: request.params.id, assignees: ctx.store.patients.assigneesOf(request.params.id) };
    },
  );

  app.post(
    '/patients/:id/assignments',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary: 'Assigns a patient to a clinician.',
        params: patientParams,
        body: z.object({ username }).strict(),
        response: { 201: z.object({ patientId: z.string(), username: z.string() }) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      ctx.store.patients.require(id);
      const user = ctx.store.users.get(request.body.username);
      if (!user) throw new VitalGateError('USER_NOT_FOUND', 'no such user');
      if (user.role !== 'clinician') {
        throw new VitalGateError(
          'ROLE_NOT_ALLOWED',
          `only clinicians are assigned patients (${user.username} is ${user.role})`,
        );
      }
      ctx.store.patients.assign(id, user.username);
      ctx.store.audit.append({
        actor: actor(request),
        action: 'patient.assign',
        target: `patient:${id}`,
        outcome: 'success',
        source: request.ip,
        details: { username: user.username },
      });
      return reply.status(201).send({ patientId: id, username: user.username });
    },
  );

  app.delete(
    '/patients/:id/assignments/:username',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary: 'Ends an assignment.',
        params: z.object({ id: patientId, username }).strict(),
      },
    },
    async (request, reply) => {
      const { id, username: who } = request.params;
      if (!ctx.store.patients.unassign(id, who)) throw new VitalGateError('NOT_FOUND', 'no such assignment');
      ctx.store.audit.append({
        actor: actor(request),
        action: 'patient.unassign',
        target: `patient:${id}`,
        outcome: 'success',
        source: request.ip,
        details: { username: who },
      });
      return reply.status(204).send();
    },
  );

  app.post(
    '/patients/:id/erase',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary:
          'Erases a patient for good (crypto-shredding): the data key is destroyed, so every reading, rollup, dead letter and the demographics become unreadable; the devices are unbound and their sessions ended. `confirm` repeats the patient id. Audited.',
        params: patientParams,
        body: z.object({ reason, confirm: z.string().max(64) }).strict(),
        response: {
          200: z.object({ patientId: z.string(), erasedAt: z.string(), unboundDevices: z.array(z.string()) }),
        },
      },
    },
    async (request) => {
      requireStepUp(request.principal!, ctx.now(), 'patient_erase');
      return ctx.erasure.erase(
        { patientId: request.params.id, confirm: request.body.confirm, reason: request.body.reason },
        actor(request),
        request.ip,
      );
    },
  );

  app.post(
    '/patients/:id/break-glass',
    {
      config: { access: 'phi.read', phi: 'break_glass' },
      schema: {
        tags,
        summary:
          'Time-limited access to an unassigned patient for a stated reason; audited, and alerts the auditors.',
        params: patientParams,
        body: z
          .object({
            reason: reason.refine((r) => r.length >= 10, 'state the reason in at least 10 characters'),
          })
          .strict(),
        response: { 201: z.object({ patientId: z.string(), grantId: z.number(), expiresAt: z.string() }) },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      requireStepUp(p, ctx.now(), 'break_glass');
      const grant = ctx.breakGlass.grant(p.username, request.params.id, request.body.reason, request.ip);
      return reply.status(201).send({
        patientId: grant.patientId,
        grantId: grant.id,
        expiresAt: new Date(grant.expiresAt).toISOString(),
      });
    },
  );
}
