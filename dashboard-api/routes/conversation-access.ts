// Who may read a care-team conversation, and the audit entry of a read: for a patient's
// conversation the PHI gate (assignment or break-glass) first, then membership; a refusal is
// audited and shows nothing of the conversation.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { VitalGateError } from '../../core/errors.js';
import type { ConversationRecord } from '../../core/store/conversations.js';
import { PHI_READ_ACTION } from '../access/phi-guard.js';
import type { ApiContext } from '../context.js';

export const conversationId = z.string().regex(/^cnv_[A-Za-z0-9_-]{16}$/, 'not a conversation id');
export const conversationParams = z.object({ conversationId }).strict();

export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function conversationAccess(ctx: ApiContext) {
  const service = ctx.messaging.conversations;
  /** The conversation, if the caller may read it now; refused (and audited) otherwise. */
  const admitted = (request: FastifyRequest, id: string, what: string): ConversationRecord => {
    const c = service.require(id);
    const p = request.principal!;
    if (c.kind === 'patient' && c.patientId) ctx.guard.authorize(p, c.patientId, what, request.ip);
    return requireMember(request, c, what);
  };
  const requireMember = (
    request: FastifyRequest,
    c: ConversationRecord,
    what: string,
  ): ConversationRecord => {
    const p = request.principal!;
    if (!service.isMember(c, p.username)) {
      ctx.store.audit.append({
        actor: `user:${p.username}`,
        action: c.kind === 'patient' ? PHI_READ_ACTION : 'conversation.access',
        target: c.patientId ? `patient:${c.patientId}` : `conversation:${c.id}`,
        outcome: 'denied',
        source: request.ip,
        details: { what, code: 'CONVERSATION_NOT_MEMBER', conversationId: c.id },
      });
      throw new VitalGateError('CONVERSATION_NOT_MEMBER', 'you are not a member of this conversation');
    }
    return c;
  };
  /** The audit entry of a served read: a PHI read for a patient conversation. */
  const recordRead = (request: FastifyRequest, c: ConversationRecord, what: string, details: object) => {
    const p = request.principal!;
    if (c.kind === 'patient' && c.patientId) {
      ctx.guard.recordRead(p, c.patientId, what, request.ip, { conversationId: c.id, ...details });
      return;
    }
    ctx.store.audit.append({
      actor: `user:${p.username}`,
      action: 'conversation.read',
      target: `conversation:${c.id}`,
      outcome: 'success',
      source: request.ip,
      details: { what, ...details },
    });
  };
  return { admitted, requireMember, recordRead };
}
