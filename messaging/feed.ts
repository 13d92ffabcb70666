// What happens in conversations, as it happens, in this process: the live stream of each
// clinician listens here. Events name ids, usernames and a priority only; never text, never a
// patient. A listener gets only the events addressed to it (`recipients`).
import { EventEmitter } from 'node:events';
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
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(recipients: readonly string[], event: MessagingEvent): void {
    if (recipients.length === 0) return;
    this.emitter.emit('event', { recipients, event } satisfies AddressedEvent);
  }

  /** Every event with its recipients (the hub's Web Push of escalations), until the returned function is called. */
  watch(listener: (e: AddressedEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /** Events addressed to `username`, until the returned function is called. */
  subscribe(username: string, listener: (event: MessagingEvent) => void): () => void {
    const filter = (e: AddressedEvent) => {
      if (e.recipients.includes(username)) listener(e.event);
    };
    this.emitter.on('event', filter);
    return () => this.emitter.off('event', filter);
  }
}
