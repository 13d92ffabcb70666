// Urgent care-team messages left unread reach their next reader by Web Push too, not only on the
// console's live stream: each `escalation` the messaging feed carries becomes one notification
// per browser of each recipient, through the alerts' push sender (care/push-notifications.ts).
// The payload names no patient and holds no text ("Urgent message about a patient, unread").
import type { PushNotifier } from '../care/push-notifications.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MessagingFeed } from '../messaging/feed.js';

/** Starts pushing escalations; answers the function that stops it. */
export function pushMessageEscalations(
  feed: MessagingFeed,
  notifier: PushNotifier,
  logger?: Logger,
): () => void {
  return feed.watch(({ recipients, event }) => {
    if (event.kind !== 'escalation') return;
    try {
      notifier.notifyUrgentMessage(recipients, event.aboutPatient);
    } catch (err) {
      // The escalation stands (audited, on the live stream); only its push is lost.
      logger?.error(
        { err: describeError(err), conversationId: event.conversationId, messageId: event.messageId },
        'urgent message escalation not pushed',
      );
    }
  });
}
