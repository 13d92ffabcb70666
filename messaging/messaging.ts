// The messaging capability wired from the hub's parts: one feed shared by the API's live streams,
// the retention sweep and the urgent-message escalation; `tick()` runs the timed work.
import type { Keyring } from '../core/keyring.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { Conversations } from './conversations.js';
import { UrgentMessageEscalation } from './escalation.js';
import { MessagingFeed } from './feed.js';
import { ChartFiling } from './filing.js';
import { MessageRetention } from './retention.js';
import { MessageSealer } from './sealing.js';

export interface MessagingOptions {
  store: ControlPlane;
  keyring: Keyring;
  retentionDays: number;
  escalationMinutes: number;
  mayReadPatient: (username: string, patientId: string) => boolean;
  onCall?: (teamId: string) => string[];
  now?: () => number;
}

export interface Messaging {
  feed: MessagingFeed;
  sealer: MessageSealer;
  conversations: Conversations;
  retention: MessageRetention;
  escalation: UrgentMessageEscalation;
  filing: ChartFiling;
  /** Retention sweep and escalation, as the hub's timer runs them. */
  tick(): void;
}

export function createMessaging(o: MessagingOptions): Messaging {
  const feed = new MessagingFeed();
  const sealer = new MessageSealer(o.keyring);
  const now = o.now ?? Date.now;
  const conversations = new Conversations({
    store: o.store,
    sealer,
    feed,
    retentionDays: o.retentionDays,
    mayReadPatient: o.mayReadPatient,
    now,
  });
  const retention = new MessageRetention({ store: o.store, conversations, sealer, feed, now });
  const escalation = new UrgentMessageEscalation({
    store: o.store,
    conversations,
    feed,
    afterMinutes: o.escalationMinutes,
    ...(o.onCall ? { onCall: o.onCall } : {}),
    now,
  });
  const filing = new ChartFiling({ store: o.store, keyring: o.keyring, conversations, now });
  return {
    feed,
    sealer,
    conversations,
    retention,
    escalation,
    filing,
    tick() {
      retention.sweep();
      escalation.tick();
    },
  };
}
