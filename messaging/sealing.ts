// Message sealing. Each message gets a fresh AES-256 key; the content (body and reference) is
// sealed under it, and the key itself under the conversation's subject key in the keyring: the
// patient's own data key for a patient conversation (erasing the patient shreds every message
// about them), or a data key of the direct conversation (wrapped by the master key, destroyed
// when the conversation expires). Associated data binds each ciphertext to its conversation and
// message id, so a ciphertext moved to another row fails to open.
import { randomBytes } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal, type Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import type { ConversationRecord } from '../core/store/conversations.js';

export type MessageRef =
  | { kind: 'alert'; alertId: number }
  | { kind: 'readings'; from: number; to: number; types?: string[] | undefined };

export interface MessageContent {
  body: string;
  ref?: MessageRef | undefined;
}

export interface SealedMessage {
  keyVersion: number;
  sealedKey: Buffer;
  sealedContent: Buffer;
}

/** The keyring subject whose key seals a conversation's message keys. */
export function conversationKeySubject(c: Pick<ConversationRecord, 'id' | 'kind' | 'patientId'>): string {
  return c.kind === 'patient' && c.patientId ? patientKeySubject(c.patientId) : `conversation:${c.id}`;
}

const keyAad = (conversationId: string, messageId: number) => `message-key:${conversationId}:${messageId}`;
const contentAad = (conversationId: string, messageId: number) => `message:${conversationId}:${messageId}`;

export class MessageSealer {
  constructor(private readonly keyring: Keyring) {}

  seal(conversation: ConversationRecord, messageId: number, content: MessageContent): SealedMessage {
    const key = randomBytes(32);
    try {
      const sealed = this.keyring.seal(
        conversationKeySubject(conversation),
        key,
        keyAad(conversation.id, messageId),
      );
      const plain = Buffer.from(JSON.stringify(content), 'utf8');
      const sealedContent = aesGcmSeal(key, plain, contentAad(conversation.id, messageId));
      plain.fill(0);
      return { keyVersion: sealed.keyVersion, sealedKey: sealed.ciphertext, sealedContent };
    } finally {
      key.fill(0);
    }
  }

  /** Throws KEY_DESTROYED when the patient was erased or the direct conversation expired. */
  open(
    conversation: ConversationRecord,
    message: { id: number; keyVersion: number; sealedKey: Buffer; sealedContent: Buffer },
  ): MessageContent {
    const key = this.keyring.open(
      conversationKeySubject(conversation),
      message.keyVersion,
      message.sealedKey,
      keyAad(conversation.id, message.id),
    );
    try {
      const plain = aesGcmOpen(key, message.sealedContent, contentAad(conversation.id, message.id));
      return JSON.parse(plain.toString('utf8')) as MessageContent;
    } finally {
      key.fill(0);
    }
  }

  /** Destroys a direct conversation's key: nothing sealed under it opens again. */
  destroyKey(conversation: ConversationRecord): void {
    if (conversation.kind === 'direct') this.keyring.shred(conversationKeySubject(conversation));
  }
}
