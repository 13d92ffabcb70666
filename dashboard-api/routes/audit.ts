// The audit log with filters and chain verification (auditors), security events, and the
// deployment checks (SPEC §7).
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { deviceId, instant, limit } from '../schemas.js';

const token = z
  .string()
  .max(120)
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'letters, digits and _ . : @ - only');

export function registerAuditRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get(
    '/audit',
    {
      config: { access: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary:
          'Audit entries, newest first, with filters; `beforeSeq` pages to older entries, `afterSeq` to newer ones.',
        querystring: z
          .object({
            from: instant.optional(),
            to: instant.optional(),
            actor: token.optional(),
            action: token.optional(),
            target: token.optional(),
            outcome: z.enum(['success', 'failure', 'denied']).optional(),
            afterSeq: z
              .string()
              .regex(/^\d{1,12}$/)
              .transform(Number)
              .optional(),
            beforeSeq: z
              .string()
              .regex(/^\d{1,12}$/)
              .transform(Number)
              .optional(),
            limit: limit(1000, 100),
          })
          .strict(),
      },
    },
    async (request) => {
      const q = request.query;
      const entries = ctx.store.audit.list({
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.target ? { target: q.target } : {}),
        ...(q.outcome ? { outcome: q.outcome } : {}),
        ...(q.afterSeq !== undefined ? { afterSeq: q.afterSeq } : {}),
        ...(q.beforeSeq !== undefined ? { beforeSeq: q.beforeSeq } : {}),
        limit: q.limit,
      });
      ctx.store.audit.append({
        actor: `user:${request.principal!.username}`,
        action: 'audit.read',
        outcome: 'success',
        source: request.ip,
        details: { entries: entries.length },
      });
      return entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
    },
  );

  app.get(
    '/audit/verify',
    {
      config: { access: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary:
          'Walks the hash chain from its retention anchor; names the first entry that does not fit and reports entries pruned by policy.',
      },
    },
    async (request) => {
      const result = ctx.store.audit.verify();
      ctx.store.audit.append({
        actor: `user:${request.principal!.username}`,
        action: 'audit.verify',
        outcome: result.ok ? 'success' : 'failure',
        source: request.ip,
        details: {
          checked: result.checked,
          ...(result.firstBad ? { firstBad: result.firstBad.seq } : {}),
          ...(result.pruned ? { prunedThroughSeq: result.pruned.throughSeq } : {}),
        },
      });
      return result;
    },
  );

  app.get(
    '/security/events',
    {
      config: { access: 'security.read' },
      schema: {
        tags: ['security'],
        summary: 'Security events (refusals, quarantines, break-glass, lockouts, anomalies), newest first.',
        querystring: z
          .object({
            kind: token.optional(),
            deviceId: deviceId.optional(),
            since: instant.optional(),
            limit: limit(1000, 100),
          })
          .strict(),
      },
    },
    async (request) => {
      const q = request.query;
      return ctx.store.securityEvents
        .list({
          ...(q.kind ? { kind: q.kind } : {}),
          ...(q.deviceId ? { deviceId: q.deviceId } : {}),
          ...(q.since !== undefined ? { since: q.since } : {}),
          limit: q.limit,
        })
        .map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
    },
  );

  app.get(
    '/checks',
    {
      config: { access: 'checks.read' },
      schema: { tags: ['checks'], summary: 'The latest deployment check report.' },
    },
    async () => {
      const latest = ctx.deps.checks?.latest() ?? ctx.store.checkRuns.latest(1)[0]?.report;
      if (!latest) throw new VitalGateError('NOT_FOUND', 'no check report yet; run the checks');
      return latest;
    },
  );

  app.post(
    '/checks/run',
    {
      config: { access: 'checks.run', rateLimit: { max: 6, timeWindow: 60_000 } },
      schema: { tags: ['checks'], summary: 'Runs the deployment checks now and returns the report.' },
    },
    async (request) => {
      if (!ctx.deps.checks)
        throw new VitalGateError('CHECKS_UNAVAILABLE', 'the checks are not wired into this hub');
      return ctx.deps.checks.run(`user:${request.principal!.username}`);
    },
  );
}
