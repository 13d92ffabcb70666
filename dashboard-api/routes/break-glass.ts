// Break-glass review (auditors): every grant with its stated reason, its state and whether an
// auditor has reviewed it; a review is a `break_glass.review` audit entry on `break-glass:<id>`,
// the same entry `vitalgate break-glass review` writes and check VG-API-005 looks for.
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import { BreakGlassGrantRepository, type BreakGlassGrant } from '../../core/store/break-glass-grants.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { limit, username } from '../schemas.js';

const REVIEW_ACTION = 'break_glass.review';

const grantParams = z
  .object({
    id: z
      .string()
      .regex(/^\d{1,12}$/, 'expected a grant number')
      .transform(Number),
  })
  .strict();

const reviewView = z.object({ at: z.string(), by: z.string(), note: z.string() }).nullable();
const grantView = z.object({
  id: z.number(),
  username: z.string(),
  patientId: z.string(),
  reason: z.string(),
  source: z.string().nullable(),
  grantedAt: z.string(),
  expiresAt: z.string(),
  endedAt: z.string().nullable(),
  state: z.enum(['active', 'expired', 'ended']),
  review: reviewView,
});

export function registerBreakGlassRoutes(app: ApiApp, ctx: ApiContext): void {
  const grants = new BreakGlassGrantRepository(ctx.store.db);
  const tags = ['break-glass'];

  const review = (id: number): z.infer<typeof reviewView> => {
    const entry = ctx.store.audit.list({ action: REVIEW_ACTION, target: `break-glass:${id}`, limit: 1 })[0];
    if (!entry) return null;
    return {
      at: new Date(entry.at).toISOString(),
      by: entry.actor,
      note: typeof entry.details?.note === 'string' ? entry.details.note : '',
    };
  };
  const view = (g: BreakGlassGrant): z.infer<typeof grantView> => ({
    id: g.id,
    username: g.username,
    patientId: g.patientId,
    reason: g.reason,
    source: g.source,
    grantedAt: new Date(g.grantedAt).toISOString(),
    expiresAt: new Date(g.expiresAt).toISOString(),
    endedAt: g.endedAt === null ? null : new Date(g.endedAt).toISOString(),
    state: g.endedAt !== null ? 'ended' : g.expiresAt > ctx.now() ? 'active' : 'expired',
    review: review(g.id),
  });

  app.get(
    '/break-glass/grants',
    {
      config: { access: 'audit.read' },
      schema: {
        tags,
        summary: 'Break-glass grants, newest first, each with its reason, state and auditor review (if any).',
        querystring: z.object({ username: username.optional(), limit: limit(1000, 100) }).strict(),
        response: { 200: z.array(grantView) },
      },
    },
    async (request) =>
      grants
        .list({
          ...(request.query.username ? { username: request.query.username } : {}),
          limit: request.query.limit ?? 100,
        })
        .map(view),
  );

  app.post(
    '/break-glass/grants/:id/review',
    {
      config: { access: 'audit.read' },
      schema: {
        tags,
        summary: 'Records an auditor’s review of a grant, with a note (audited as break_glass.review).',
        params: grantParams,
        body: z.object({ note: z.string().trim().min(3).max(500) }).strict(),
        response: { 201: grantView },
      },
    },
    async (request, reply) => {
      const grant = grants.get(request.params.id);
      if (!grant) throw new VitalGateError('NOT_FOUND', 'no such break-glass grant');
      ctx.store.audit.append({
        actor: `user:${request.principal!.username}`,
        action: REVIEW_ACTION,
        target: `break-glass:${grant.id}`,
        outcome: 'success',
        source: request.ip,
        details: { note: request.body.note, username: grant.username },
      });
      return reply.status(201).send(view(grant));
    },
  );
}
