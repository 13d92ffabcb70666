// Snooze, resolve and the history of an alert, for a clinician of its patient. The lifecycle
// itself (states, audit, sealed reasons, re-notification) is the care layer's; the
// acknowledgement (with its note) stays in routes/alerts.ts.
import { z } from 'zod';
import { MAX_SNOOZE_MINUTES } from '../../care/alert-lifecycle.js';
import { VitalGateError } from '../../core/errors.js';
import type { AlertRecord } from '../../core/store/ingest-state.js';
import type { Principal } from '../auth/sessions.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { reason } from '../schemas.js';

const alertParams = z
  .object({
    alertId: z
      .string()
      .regex(/^\d{1,12}$/)
      .transform(Number),
  })
  .strict();

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

export function registerAlertLifecycleRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['alerts'];
  const lifecycle = () => {
    const l = ctx.deps.alertLifecycle;
    if (!l) throw new VitalGateError('ALERTS_UNAVAILABLE', 'the alert lifecycle is not running in this hub');
    return l;
  };
  const alertOf = (id: number, request: { principal?: Principal | undefined; ip: string }, what: string) => {
    const alert = ctx.store.alerts.get(id);
    if (!alert || alert.patientId === null) throw new VitalGateError('ALERT_NOT_FOUND', 'no such alert');
    ctx.guard.authorize(request.principal!, alert.patientId, what, request.ip);
    return alert as AlertRecord & { patientId: string };
  };
  const view = (a: AlertRecord) => ({
    id: a.id,
    patientId: a.patientId,
    rule: a.rule,
    severity: a.severity,
    status: a.status,
    raisedAt: iso(a.raisedAt),
    clearedAt: iso(a.clearedAt),
    snoozedUntil: iso(lifecycle().snoozedUntil(a.id)),
    history: lifecycle()
      .history(a)
      .map((h) => ({ ...h, at: iso(h.at), ...(h.until !== undefined ? { until: iso(h.until) } : {}) })),
  });

  app.get(
    '/alerts/:alertId/history',
    {
      config: { access: 'phi.read', phi: 'alert_history' },
      schema: {
        tags,
        summary:
          'An alert with every transition (raised, acknowledged, snoozed, re-notified, resolved, auto-cleared).',
        params: alertParams,
      },
    },
    async (request) => {
      const alert = alertOf(request.params.alertId, request, 'alert_history');
      ctx.guard.recordRead(request.principal!, alert.patientId, 'alert_history', request.ip, {
        alertId: alert.id,
      });
      return view(alert);
    },
  );

  app.post(
    '/alerts/:alertId/snooze',
    {
      config: { access: 'phi.read', phi: 'alert_snooze' },
      schema: {
        tags,
        summary: `Snoozes an active alert for 1 to ${MAX_SNOOZE_MINUTES} minutes with a reason: no notification meanwhile; notified again at the end if still active.`,
        params: alertParams,
        body: z.object({ minutes: z.number().int().min(1).max(MAX_SNOOZE_MINUTES), reason }).strict(),
      },
    },
    async (request) => {
      const alert = alertOf(request.params.alertId, request, 'alert_snooze');
      const p = request.principal!;
      lifecycle().snooze(
        alert.id,
        { username: p.username, source: request.ip },
        request.body.minutes,
        request.body.reason,
      );
      return view(ctx.store.alerts.get(alert.id)!);
    },
  );

  app.post(
    '/alerts/:alertId/resolve',
    {
      config: { access: 'phi.read', phi: 'alert_resolve' },
      schema: {
        tags,
        summary: 'Resolves an active alert with a reason. A breach that goes on raises a new alert.',
        params: alertParams,
        body: z.object({ reason }).strict(),
      },
    },
    async (request) => {
      const alert = alertOf(request.params.alertId, request, 'alert_resolve');
      const p = request.principal!;
      const resolved = lifecycle().resolve(
        alert.id,
        { username: p.username, source: request.ip },
        request.body.reason,
      );
      return view(resolved);
    },
  );
}
