// The clinician's conversation notices (Server-Sent Events, same-origin with the session cookie):
// ids and a PHI-free line only; pages fetch what changed through the API. Closed with the page.
export interface ConversationNotice {
  conversationId: string;
  messageId?: number;
  notice?: string;
  /** Whose receipt a `receipt` notice is. */
  username?: string;
}

const KINDS = ['message', 'recalled', 'expired', 'receipt', 'escalation'] as const;

export function listenToConversations(
  signal: AbortSignal,
  onNotice: (kind: (typeof KINDS)[number], notice: ConversationNotice) => void,
): void {
  const source = new EventSource('/api/v1/conversations/stream');
  for (const kind of KINDS) {
    source.addEventListener(kind, (event) => {
      onNotice(kind, JSON.parse((event as MessageEvent<string>).data) as ConversationNotice);
    });
  }
  signal.addEventListener('abort', () => source.close());
}
