// Web Push for clinicians: the hub's VAPID public key (the browser's applicationServerKey), the
// browsers a clinician allowed (subscribe, list, remove), a test notification to them, and the
// opaque link a notification carries, resolved to its alert only for its recipient after
// sign-in. Sending is the care layer's (care/push-notifications.ts).
import { z } from 'zod';
import { PushSubscriptions } from '../../care/push-subscriptions.js';
import { VitalGateError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const idParams = z
  .object({
    id: z
      .string()
      .regex(/^\d{1,12}$/)
      .transform(Number),
  })
  .strict();
const tokenParams = z
  .object({ token: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'not a notification link') })
  .strict();

export function registerPushRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['notifications'];
  const subscriptions = new PushSubscriptions(
    ctx.store,
    ctx.deps.keyring,
    ctx.config.pushServiceHosts,
    ctx.now,
  );
  const view = (s: {
    id: number;
    label: string;
    createdAt: number;
    lastSuccessAt: number | null;
    vapidKeyId: number;
  }) => ({
    id: s.id,
    label: s.label,
    createdAt: iso(s.createdAt),
    lastSuccessAt: iso(s.lastSuccessAt),
  });

  app.get(
    '/push/vapid-key',
    {
      config: { access: 'phi.read', phi: 'push' },
      schema: {
        tags,
        summary: 'The hub’s VAPID public key (base64url): the applicationServerKey to subscribe with.',
      },
    },
    async () => ({ publicKey: subscriptions.vapid.current().publicKey }),
  );

  app.get(
    '/push/subscriptions',
    {
      config: { access: 'phi.read', phi: 'push' },
      schema: { tags, summary: 'The caller’s browsers that receive notifications.' },
    },
    async (request) => ({ subscriptions: subscriptions.list(request.principal!.username).map(view) }),
  );

  app.post(
    '/push/subscriptions',
    {
      config: { access: 'phi.read', phi: 'push' },
      schema: {
        tags,
        summary:
          'Stores this browser’s push subscription (PushSubscription.toJSON()) for the caller; the endpoint must be on a configured push service.',
        body: z
          .object({
            endpoint: z.string().max(2048),
            expirationTime: z.number().nullable().optional(),
            keys: z.object({ p256dh: z.string().max(200), auth: z.string().max(100) }).strict(),
            label: z.string().max(80).optional(),
          })
          .strict(),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const sub = subscriptions.subscribe(
        request.principal!.username,
        { endpoint: b.endpoint, keys: b.keys, label: b.label },
        request.ip,
      );
      return reply.code(201).send(view(sub));
    },
  );

  app.delete(
    '/push/subscriptions/:id',
    {
      config: { access: 'phi.read', phi: 'push' },
      schema: { tags, summary: 'Stops notifications to one of the caller’s browsers.', params: idParams },
    },
    async (request, reply) => {
      subscriptions.unsubscribe(request.principal!.username, request.params.id, request.ip);
      return reply.code(204).send();
    },
  );

  app.post(
    '/push/test',
    {
      config: { access: 'phi.read', phi: 'push' },
      schema: { tags, summary: 'Sends a test notification (no patient) to each of the caller’s browsers.' },
    },
    async (request) => {
      const notifier = ctx.deps.pushNotifier;
      if (!notifier) throw new VitalGateError('ALERTS_UNAVAILABLE', 'notifications are not sent by this hub');
      const sent = notifier.test(request.principal!.username);
      await notifier.settled();
      const results = sent.map((id) => notifier.repo.delivery(id)!);
      return {
        browsers: results.length,
        delivered: results.filter((d) => d.state === 'sent').length,
      };
    },
  );

  app.get(
    '/notifications/:token',
    {
      config: { access: 'phi.read', phi: 'notification' },
      schema: {
        tags,
        summary: 'Opens a notification’s link: its alert and patient, for the clinician it was sent to.',
        params: tokenParams,
      },
    },
    async (request) => {
      const p = request.principal!;
      const d = subscriptions.repo.deliveryByToken(request.params.token);
      // Someone else's link answers as if it did not exist.
      if (!d || d.username !== p.username || d.alertId === 0)
        throw new VitalGateError('NOTIFICATION_NOT_FOUND', 'no such notification of yours');
      const alert = ctx.store.alerts.get(d.alertId);
      if (!alert || alert.patientId === null)
        throw new VitalGateError('NOTIFICATION_NOT_FOUND', 'the alert of this notification is gone');
      ctx.guard.authorize(p, alert.patientId, 'notification', request.ip);
      return {
        alertId: alert.id,
        patientId: alert.patientId,
        severity: alert.severity,
        status: alert.status,
        sentAt: iso(d.createdAt),
      };
    },
  );
}
