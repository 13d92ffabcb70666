// Clinical alerts of the patients a clinician may read (PHI: each patient's alerts read is
// audited), and their acknowledgement.
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
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

export function registerAlertRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['alerts'];

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
        .map(alertView);
    },
  );

  app.post(
    '/alerts/:alertId/ack',
    {
      config: { access: 'phi.read', phi: 'alert_ack' },
      schema: {
        tags,
        summary: 'Acknowledges an open alert of a patient you may read.',
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
      ctx.store.audit.append({
        actor: `user:${p.username}`,
        action: 'alert.ack',
        target: `patient:${alert.patientId}`,
        outcome: 'success',
        source: request.ip,
        details: { alertId: alert.id, rule: alert.rule },
      });
      return alertView(ctx.store.alerts.get(alert.id)!);
    },
  );
}
