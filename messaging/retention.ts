// Message retention: a message lives for its conversation's lifespan (the hub default,
// VITALGATE_MESSAGE_RETENTION_DAYS, or a shorter one an admin set) and is then destroyed, not
// hidden: its row (the sealed content and the message key sealed with it) is deleted with the
// freed bytes zeroed and the WAL truncated (MessageRepository.destroy). A direct conversation
// with nothing left in it once its lifespan has passed since its last message loses its key
// (crypto-shredding) and closes. Every destruction is audited by ids, never by text. The hub calls
// `sweep()` on a timer; tests call it with the clock moved on.
import type { AuditLog } from '../core/audit.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { Conversations } from './conversations.js';
import type { MessagingFeed } from './feed.js';
import type { MessageSealer } from './sealing.js';

export interface RetentionSweep {
  messagesDestroyed: number;
  keysDestroyed: number;
}

export class MessageRetention {
  private readonly audit: AuditLog;

  constructor(
    private readonly deps: {
      store: ControlPlane;
      conversations: Conversations;
      sealer: MessageSealer;
      feed: MessagingFeed;
      now?: () => number;
    },
  ) {
    this.audit = deps.store.audit;
  }

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  sweep(): RetentionSweep {
    const { conversations: service } = this.deps;
    const at = this.now;
    let messagesDestroyed = 0;
    for (;;) {
      const expired = service.messages.expired(at);
      if (expired.length === 0) break;
      messagesDestroyed += service.messages.destroy(expired.map((m) => m.id));
      const byConversation = new Map<string, number[]>();
      for (const m of expired) {
        byConversation.set(m.conversationId, [...(byConversation.get(m.conversationId) ?? []), m.id]);
        this.audit.append({
          actor: 'system:message-retention',
          action: 'message.expire',
          target: `conversation:${m.conversationId}`,
          outcome: 'success',
          details: {
            messageId: m.id,
            sentAt: new Date(m.sentAt).toISOString(),
            expiresAt: new Date(m.expiresAt).toISOString(),
          },
        });
      }
      for (const [conversationId, messageIds] of byConversation) {
        const c = service.conversations.get(conversationId);
        if (c) this.deps.feed.publish(service.members(c), { kind: 'expired', conversationId, messageIds });
      }
    }
    // A truncation of the WAL that a reader held up last time is done now.
    service.messages.truncateWal();
    let keysDestroyed = 0;
    for (const c of service.conversations.list()) {
      if (c.kind !== 'direct' || c.closedAt !== null) continue;
      const last = c.lastMessageAt ?? c.createdAt;
      if (last + service.lifespanMs(c) > at || service.messages.count(c.id) > 0) continue;
      this.deps.store.transaction(() => {
        this.deps.sealer.destroyKey(c);
        service.conversations.close(c.id, at);
        this.audit.append({
          actor: 'system:message-retention',
          action: 'conversation.key.destroy',
          target: `conversation:${c.id}`,
          outcome: 'success',
          details: { lastMessageAt: new Date(last).toISOString() },
        });
      });
      keysDestroyed += 1;
    }
    return { messagesDestroyed, keysDestroyed };
  }
}
