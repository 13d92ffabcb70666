// Clinical alerts of the patients a clinician may read (PHI: each patient's alerts read is
// audited), and their acknowledgement.
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import { patientKeySubject } from '../../core/patient-registry.js';
import { AlertNoteRepository } from '../../core/store/alert-notes.js';
import { EscalationRepository } from '../../core/store/escalations.js';
import type { AlertRecord } from '../../core/store/ingest-state.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { limit, patientId } from '../schemas.js';

function alertView(a: AlertRecord) {
  return {
    id: a.id,
    patientId: a.patientId,
    deviceId: a.deviceId,
    rule: a.rule,
    severity: a.severity,
    status: a.status,
    raisedAt: new Date(a.raisedAt).toISOString(),
    clearedAt: a.clearedAt === null ? null : new Date(a.clearedAt).toISOString(),
    ackedBy: a.ackedBy,
    ackedAt: a.ackedAt === null ? null : new Date(a.ackedAt).toISOString(),
  };
}

const noteAad = (alertId: number, patientId: string) => `alert-note|${alertId}|${patientId}`;

export function registerAlertRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['alerts'];
  const steps = new EscalationRepository(ctx.store.db);
  /** The furthest ladder step that fired beyond the assigned clinicians (null: not escalated). */
  const escalationOf = (alertId: number) => {
    const fired = steps.forAlert(alertId).filter((s) => s.state === 'fired' && s.step > 0);
    const last = fired[fired.length - 1];
    return last
      ? { step: last.step, target: last.target, at: new Date(last.doneAt ?? 0).toISOString() }
      : null;
  };
  const notes = new AlertNoteRepository(ctx.store.db);
  /** The acknowledgement note of an alert, opened under its patient's key (clinical text: PHI). */
  const noteOf = (a: AlertRecord): string | null => {
    const note = a.status === 'open' || a.patientId === null ? undefined : notes.get(a.id);
    if (!note) return null;
    const subject = patientKeySubject(note.patientId);
    if (ctx.deps.keyring.isShredded(subject)) return null;
    return ctx.deps.keyring
      .open(subject, note.keyVersion, note.sealed, noteAad(a.id, note.patientId))
      .toString('utf8');
  };

  app.get(
    '/alerts',
    {
      config: { access: 'phi.read', phi: 'alerts' },
      schema: {
        tags,
        summary: 'Alerts of the patients you may read, newest first.',
        querystring: z
          .object({
            status: z.enum(['open', 'acknowledged', 'cleared']).optional(),
            patientId: patientId.optional(),
            limit: limit(1000, 100),
          })
          .strict(),
      },
    },
    async (request) => {
      const p = request.principal!;
      const q = request.query;
      const patients = q.patientId
        ? [{ patientId: q.patientId, basis: ctx.guard.authorize(p, q.patientId, 'alerts', request.ip) }]
        : ctx.guard.accessiblePatients(p.username);
      const out: AlertRecord[] = [];
      for (const { patientId: id, basis } of patients) {
        const alerts = ctx.store.alerts.list({
          patientId: id,
          ...(q.status ? { status: q.status } : {}),
          limit: q.limit,
        });
        if (alerts.length > 0)
          ctx.guard.recordRead(p, id, 'alerts', request.ip, { via: basis, alerts: alerts.length });
        out.push(...alerts);
      }
      return out
        .sort((a, b) => b.raisedAt - a.raisedAt)
        .slice(0, q.limit)
        .map((a) => ({ ...alertView(a), note: noteOf(a), escalation: escalationOf(a.id) }));
    },
  );

  app.post(
    '/alerts/:alertId/ack',
    {
      config: { access: 'phi.read', phi: 'alert_ack' },
      schema: {
        tags,
        summary: 'Acknowledges an open alert of a patient you may read, with an optional note.',
        body: z
          .object({ note: z.string().trim().min(1).max(500).optional() })
          .strict()
          .optional(),
        params: z
          .object({
            alertId: z
              .string()
              .regex(/^\d{1,12}$/)
              .transform(Number),
          })
          .strict(),
      },
    },
    async (request) => {
      const p = request.principal!;
      const alert = ctx.store.alerts.get(request.params.alertId);
      if (!alert || alert.patientId === null) throw new VitalGateError('ALERT_NOT_FOUND', 'no such alert');
      ctx.guard.authorize(p, alert.patientId, 'alert_ack', request.ip);
      if (!ctx.store.alerts.acknowledge(alert.id, p.username)) {
        throw new VitalGateError('ALERT_STATE_CONFLICT', `the alert is ${alert.status}`);
      }
      const note = request.body?.note;
      if (note) {
        const sealed = ctx.deps.keyring.seal(
          patientKeySubject(alert.patientId),
          Buffer.from(note, 'utf8'),
          noteAad(alert.id, alert.patientId),
        );
        notes.add({
          alertId: alert.id,
          patientId: alert.patientId,
          author: p.username,
          createdAt: ctx.now(),
          keyVersion: sealed.keyVersion,
          sealed: sealed.ciphertext,
        });
      }
      ctx.store.audit.append({
        actor: `user:${p.username}`,
        action: 'alert.ack',
        target: `patient:${alert.patientId}`,
        outcome: 'success',
        source: request.ip,
        details: { alertId: alert.id, rule: alert.rule, note: note !== undefined },
      });
      const acked = ctx.store.alerts.get(alert.id)!;
      return { ...alertView(acked), note: note ?? null };
    },
  );
}
