// What happens in conversations, as it happens, in this process: the live stream of each
// clinician listens here. Events name ids, usernames and a priority only; never text, never a
// patient. A listener gets only the events addressed to it (`recipients`).
import type { MessagePriority } from '../core/store/messages.js';

export type MessagingEvent =
  | {
      kind: 'message';
      conversationId: string;
      messageId: number;
      sender: string;
      priority: MessagePriority;
      /** Whether the conversation is about a patient (the notice says so; never which one). */
      aboutPatient: boolean;
      sentAt: number;
    }
  | { kind: 'recalled'; conversationId: string; messageId: number }
  | { kind: 'expired'; conversationId: string; messageIds: number[] }
  | {
      kind: 'receipt';
      conversationId: string;
      messageIds: number[];
      username: string;
      state: 'delivered' | 'read';
    }
  | { kind: 'escalation'; conversationId: string; messageId: number; aboutPatient: boolean };

export interface AddressedEvent {
  recipients: readonly string[];
  event: MessagingEvent;
}

export class MessagingFeed {
  /** Each clinician's listeners (their open streams): an event costs its recipients, not every stream. */
  private readonly byUser = new Map<string, Set<(event: MessagingEvent) => void>>();
  private readonly watchers = new Set<(e: AddressedEvent) => void>();

  publish(recipients: readonly string[], event: MessagingEvent): void {
    if (recipients.length === 0) return;
    for (const username of new Set(recipients)) {
      const listeners = this.byUser.get(username);
      if (listeners) for (const listener of [...listeners]) listener(event);
    }
    if (this.watchers.size > 0) for (const watcher of [...this.watchers]) watcher({ recipients, event });
  }

  /** Every event with its recipients (the hub's Web Push of escalations), until the returned function is called. */
  watch(listener: (e: AddressedEvent) => void): () => void {
    const own = (e: AddressedEvent) => listener(e);
    this.watchers.add(own);
    return () => this.watchers.delete(own);
  }

  /** Events addressed to `username`, until the returned function is called. */
  subscribe(username: string, listener: (event: MessagingEvent) => void): () => void {
    const own = (event: MessagingEvent) => listener(event);
    let listeners = this.byUser.get(username);
    if (!listeners) this.byUser.set(username, (listeners = new Set()));
    listeners.add(own);
    return () => {
      listeners.delete(own);
      if (listeners.size === 0 && this.byUser.get(username) === listeners) this.byUser.delete(username);
    };
  }
}
