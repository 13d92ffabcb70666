// The operator's view of push to the EHR: the queue (depth, oldest pending age) and the items
// set aside after a refusal or too many tries (ids, types, codes: no clinical content), and
// putting set-aside items back in the queue once the cause is fixed. The CLI's `fhir-push`
// reads the same outbox.
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import { PushOutbox } from '../../fhir/push-outbox.js';
import { pushStatus } from '../../fhir/push-status.js';
import type { ApiContext } from '../context.js';
import { API_PREFIX, type ApiApp } from '../server.js';

const tags = ['fhir'];
const EHR = 'ehr';

export function registerFhirPushRoutes(app: ApiApp, ctx: ApiContext): void {
  const outbox = new PushOutbox(ctx.store.db, ctx.deps.keyring, ctx.now);

  app.get(
    `${API_PREFIX}/fhir-push`,
    {
      config: { access: 'security.read' },
      schema: {
        tags,
        summary:
          'Push to the EHR: whether it is on, the queue depth, the oldest pending item’s age, and the items set aside (ids and error codes).',
      },
    },
    async () => pushStatus(outbox, EHR, ctx.config.ehrPushUrl, ctx.now()),
  );

  app.post(
    `${API_PREFIX}/fhir-push/set-aside/:id/retry`,
    {
      config: { access: 'users.manage' },
      schema: {
        tags,
        summary: 'Puts one set-aside item back in the queue (it is sent alone, first among its patient’s).',
        params: z.object({ id: z.coerce.number().int().positive() }),
      },
    },
    async (request) => {
      const { id } = request.params;
      const requeued = outbox.retry(id);
      if (requeued === 0) throw new VitalGateError('NOT_FOUND', 'no set-aside push item has that id');
      audit(ctx, `user:${request.principal!.username}`, { item: id, requeued });
      return { requeued };
    },
  );

  app.post(
    `${API_PREFIX}/fhir-push/set-aside/retry`,
    {
      config: { access: 'users.manage' },
      schema: { tags, summary: 'Puts every set-aside item back in the queue.' },
    },
    async (request) => {
      const requeued = outbox.retry();
      audit(ctx, `user:${request.principal!.username}`, { requeued });
      return { requeued };
    },
  );
}

function audit(ctx: ApiContext, actor: string, details: Record<string, unknown>): void {
  ctx.store.audit.append({ actor, action: 'fhir.push.retry', outcome: 'success', details });
}
