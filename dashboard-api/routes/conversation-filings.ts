// Filing care-team messages to the patient's record (messaging/filing.ts): a preview that shows
// exactly what would be filed and its digest, then the filing confirmed with that digest, as a
// FHIR Communication. Both are PHI reads of the conversation, audited.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ConversationRecord } from '../../core/store/conversations.js';
import { MAX_FILED_MESSAGES } from '../../messaging/filing.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { conversationAccess, conversationParams, iso } from './conversation-access.js';

const messageIds = z.array(z.number().int().positive()).min(1).max(MAX_FILED_MESSAGES);

export function registerConversationFilingRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['conversations'];
  const messaging = ctx.messaging;
  const { admitted, recordRead } = conversationAccess(ctx);

  const filingView = (request: FastifyRequest, c: ConversationRecord, ids: number[]) => {
    const excerpt = messaging.filing.preview(c, ids);
    recordRead(request, c, 'conversation_filing', { messages: excerpt.messages.length });
    return {
      ...excerpt,
      messages: excerpt.messages.map((m) => ({ ...m, sentAt: iso(m.sentAt) })),
    };
  };

  app.post(
    '/conversations/:conversationId/filings/preview',
    {
      config: { access: 'phi.read', phi: 'conversation_filing' },
      schema: {
        tags,
        summary:
          "Exactly what filing these messages to the patient's record would file, and the digest to confirm it with.",
        params: conversationParams,
        body: z.object({ messageIds }).strict(),
      },
    },
    async (request) => {
      const c = admitted(request, request.params.conversationId, 'conversation_filing');
      return filingView(request, c, request.body.messageIds);
    },
  );

  app.post(
    '/conversations/:conversationId/filings',
    {
      config: { access: 'phi.read', phi: 'conversation_filing' },
      schema: {
        tags,
        summary:
          "Files messages to the patient's record as a FHIR Communication; `confirm` repeats the preview's digest.",
        params: conversationParams,
        body: z
          .object({ messageIds, confirm: z.string().regex(/^[0-9a-f]{64}$/, 'expected the preview digest') })
          .strict(),
      },
    },
    async (request, reply) => {
      const c = admitted(request, request.params.conversationId, 'conversation_filing');
      const filed = messaging.filing.file(
        c,
        request.body.messageIds,
        request.body.confirm,
        request.principal!.username,
        request.ip,
      );
      return reply.status(201).send({
        id: filed.id,
        patientId: filed.patientId,
        filedAt: iso(filed.filedAt),
        messageIds: filed.messages.map((m) => m.id),
      });
    },
  );
}
