// Care-team conversations (messaging/): list, open (a patient's, a direct one, "discuss" an
// alert), messages (read, send, recall), read receipts, members, the lifespan an admin sets, and
// file to chart. A patient conversation is PHI: role and network (the authenticate hook), then
// assignment or break-glass (the PHI gate) and membership; every read is audited and a refusal
// shows nothing, not even how many messages there are. Who may read a conversation is in
// conversation-access.ts, filing to the chart in conversation-filings.ts, the live stream in
// conversation-stream.ts.
import { z } from 'zod';
import { MAX_DIRECT_MEMBERS, MAX_MESSAGE_CHARS, type MessageView } from '../../messaging/conversations.js';
import { VitalGateError } from '../../core/errors.js';
import type { ConversationRecord } from '../../core/store/conversations.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { patientId, readingType, username } from '../schemas.js';
import { conversationAccess, conversationId, conversationParams, iso } from './conversation-access.js';
import { registerConversationFilingRoutes } from './conversation-filings.js';
import { openConversationStream } from './conversation-stream.js';

const messageParams = z
  .object({
    conversationId,
    messageId: z
      .string()
      .regex(/^\d{1,12}$/, 'not a message id')
      .transform(Number),
  })
  .strict();
const isoInstant = z
  .string()
  .datetime({ offset: true })
  .transform((s) => Date.parse(s));
const ref = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('alert'), alertId: z.number().int().positive() }).strict(),
  z
    .object({
      kind: z.literal('readings'),
      from: isoInstant,
      to: isoInstant,
      types: z.array(readingType).min(1).max(20).optional(),
    })
    .strict(),
]);

function messageView(m: MessageView) {
  return {
    id: m.id,
    conversationId: m.conversationId,
    sender: m.sender,
    priority: m.priority,
    sentAt: iso(m.sentAt),
    expiresAt: iso(m.expiresAt),
    body: m.body,
    ref:
      m.ref?.kind === 'readings' ? { ...m.ref, from: iso(m.ref.from), to: iso(m.ref.to) } : (m.ref ?? null),
    receipts: m.receipts.map((r) => ({
      username: r.username,
      deliveredAt: iso(r.deliveredAt),
      readAt: iso(r.readAt),
    })),
  };
}

export function registerConversationRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['conversations'];
  const messaging = ctx.messaging;
  const service = messaging.conversations;

  const { admitted, requireMember, recordRead } = conversationAccess(ctx);
  const summaryView = (c: ConversationRecord, user: string) => {
    const s = service.summary(c, user);
    return { ...s, createdAt: iso(s.createdAt), lastMessageAt: iso(s.lastMessageAt) };
  };

  app.get(
    '/conversations',
    {
      config: { access: ['phi.read', 'patients.manage'], phi: 'conversation_list' },
      schema: {
        tags,
        summary:
          'Clinicians: the conversations they are a member of and may read now, with unread counts and no message text. Admins: ids, kinds and lifespans only.',
      },
    },
    async (request) => {
      const p = request.principal!;
      if (p.role !== 'clinician') {
        return {
          conversations: service.conversations.list().map((c) => ({
            id: c.id,
            kind: c.kind,
            patientId: c.patientId,
            lifespanHours: Math.round(service.lifespanMs(c) / 3_600_000),
          })),
        };
      }
      const accessible = ctx.guard.accessiblePatients(p.username).map((a) => a.patientId);
      const list = service.listFor(p.username, accessible);
      for (const c of list) {
        if (c.patientId)
          ctx.guard.recordRead(p, c.patientId, 'conversation_list', request.ip, { conversationId: c.id });
      }
      return {
        conversations: list.map((s) => ({
          ...s,
          createdAt: iso(s.createdAt),
          lastMessageAt: iso(s.lastMessageAt),
        })),
      };
    },
  );

  app.post(
    '/conversations',
    {
      config: { access: 'phi.read', phi: 'conversation_open' },
      schema: {
        tags,
        summary:
          "Opens (or reuses) a patient's conversation (`patientId`), or starts a direct conversation with other clinicians (`members`).",
        body: z.union([
          z.object({ patientId }).strict(),
          z.object({ members: z.array(username).min(1).max(MAX_DIRECT_MEMBERS) }).strict(),
        ]),
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const body = request.body;
      if ('patientId' in body) {
        ctx.guard.authorize(p, body.patientId, 'conversation_open', request.ip);
        const { conversation, created } = service.openForPatient(body.patientId, p.username);
        requireMember(request, conversation, 'conversation_open');
        return reply.status(created ? 201 : 200).send(summaryView(conversation, p.username));
      }
      const conversation = service.openDirect(p.username, body.members);
      return reply.status(201).send(summaryView(conversation, p.username));
    },
  );

  app.post(
    '/conversations/discuss',
    {
      config: { access: 'phi.read', phi: 'conversation_open' },
      schema: {
        tags,
        summary:
          "Discuss an alert: opens (or reuses) its patient's conversation and returns the reference to attach to the next message.",
        body: z.object({ alertId: z.number().int().positive() }).strict(),
      },
    },
    async (request) => {
      const p = request.principal!;
      const alert = ctx.store.alerts.get(request.body.alertId);
      if (!alert || alert.patientId === null) throw new VitalGateError('ALERT_NOT_FOUND', 'no such alert');
      ctx.guard.authorize(p, alert.patientId, 'conversation_open', request.ip);
      const { conversation } = service.openForPatient(alert.patientId, p.username);
      requireMember(request, conversation, 'conversation_open');
      return {
        conversation: summaryView(conversation, p.username),
        attach: { kind: 'alert', alertId: alert.id },
      };
    },
  );

  app.get(
    '/conversations/stream',
    {
      config: { access: 'phi.read', phi: 'conversation_stream' },
      schema: {
        tags,
        summary:
          'Server-Sent Events for the caller: `message`, `recalled`, `expired`, `receipt` and `escalation` notices, with ids and no text or patient (fetch the messages to read them).',
      },
    },
    async (request, reply) => {
      openConversationStream(ctx, request, reply);
    },
  );

  app.get(
    '/conversations/:conversationId',
    {
      config: { access: 'phi.read', phi: 'conversation' },
      schema: {
        tags,
        summary: 'A conversation: members, unread count, lifespan.',
        params: conversationParams,
      },
    },
    async (request) => {
      const c = admitted(request, request.params.conversationId, 'conversation');
      recordRead(request, c, 'conversation', {});
      return summaryView(c, request.principal!.username);
    },
  );

  app.get(
    '/conversations/:conversationId/messages',
    {
      config: { access: 'phi.read', phi: 'conversation' },
      schema: {
        tags,
        summary:
          'Messages after `after` (a message id), oldest first, with receipts; records their delivery to the caller.',
        params: conversationParams,
        querystring: z
          .object({
            after: z
              .string()
              .regex(/^\d{1,12}$/, 'expected a message id')
              .transform(Number)
              .optional(),
            limit: z
              .string()
              .regex(/^\d{1,3}$/, 'expected 1 to 200')
              .transform(Number)
              .refine((n) => n >= 1 && n <= 200, 'expected 1 to 200')
              .optional(),
          })
          .strict(),
      },
    },
    async (request) => {
      const c = admitted(request, request.params.conversationId, 'conversation');
      const { after, limit } = request.query;
      const messages = service.read(c, request.principal!.username, after ?? 0, limit ?? 200);
      recordRead(request, c, 'conversation', { messages: messages.length });
      return { messages: messages.map(messageView) };
    },
  );

  app.post(
    '/conversations/:conversationId/messages',
    {
      config: { access: 'phi.read', phi: 'conversation_send' },
      schema: {
        tags,
        summary: `Sends a message (1 to ${MAX_MESSAGE_CHARS} characters, normal or urgent, optionally about an alert or a range of readings of the conversation's patient).`,
        params: conversationParams,
        body: z
          .object({
            body: z.string().max(MAX_MESSAGE_CHARS * 2),
            priority: z.enum(['normal', 'urgent']).default('normal'),
            ref: ref.optional(),
          })
          .strict(),
      },
    },
    async (request, reply) => {
      const c = admitted(request, request.params.conversationId, 'conversation_send');
      const sent = service.send(c, request.principal!.username, request.body, request.ip);
      return reply.status(201).send(messageView(sent));
    },
  );

  app.post(
    '/conversations/:conversationId/read',
    {
      config: { access: 'phi.read', phi: 'conversation' },
      schema: {
        tags,
        summary: 'Read receipts of the caller for every message up to `upTo` (a message id).',
        params: conversationParams,
        body: z.object({ upTo: z.number().int().positive() }).strict(),
      },
    },
    async (request) => {
      const c = admitted(request, request.params.conversationId, 'conversation');
      return { read: service.markRead(c, request.principal!.username, request.body.upTo) };
    },
  );

  app.delete(
    '/conversations/:conversationId/messages/:messageId',
    {
      config: { access: 'phi.read', phi: 'conversation_recall' },
      schema: {
        tags,
        summary:
          'The sender recalls a message for every member: its ciphertext and key are destroyed; audited without text.',
        params: messageParams,
      },
    },
    async (request, reply) => {
      const c = admitted(request, request.params.conversationId, 'conversation_recall');
      service.recall(c, request.params.messageId, request.principal!.username, request.ip);
      return reply.status(204).send();
    },
  );

  app.post(
    '/conversations/:conversationId/members',
    {
      config: { access: 'phi.read', phi: 'conversation' },
      schema: {
        tags,
        summary:
          'A member adds a clinician; to a patient conversation only one who may read that patient (assigned, or break-glass).',
        params: conversationParams,
        body: z.object({ username }).strict(),
      },
    },
    async (request) => {
      const c = admitted(request, request.params.conversationId, 'conversation');
      service.addMember(c, request.body.username, request.principal!.username, request.ip);
      return summaryView(c, request.principal!.username);
    },
  );

  app.put(
    '/conversations/:conversationId/lifespan',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary:
          "An admin sets a conversation's message lifespan in hours, shorter than the hub default (null: the default); messages past it are destroyed at once.",
        params: conversationParams,
        body: z.object({ hours: z.number().int().positive().nullable() }).strict(),
      },
    },
    async (request) => {
      const c = service.require(request.params.conversationId);
      const updated = service.setLifespan(
        c,
        request.body.hours,
        `user:${request.principal!.username}`,
        request.ip,
      );
      messaging.retention.sweep();
      return {
        id: updated.id,
        kind: updated.kind,
        lifespanHours: Math.round(service.lifespanMs(updated) / 3_600_000),
      };
    },
  );

  registerConversationFilingRoutes(app, ctx);
}
