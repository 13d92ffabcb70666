// File to chart: a clinician puts one message, or an excerpt of a thread, into the patient's
// record. The excerpt is shown first with a digest of exactly what it holds (`preview`); filing
// repeats that digest as confirmation (`file`), so nothing else is filed than what was seen. The
// filed item is sealed under the patient's key (kept with the record, not with the messages'
// lifespan; erasing the patient shreds it) and becomes a FHIR R4 Communication
// (fhir/communication.ts). Filing is audited by ids.
import { createHash, randomBytes } from 'node:crypto';
import { VitalGateError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { ConversationRecord } from '../core/store/conversations.js';
import {
  FiledCommunicationRepository,
  type FiledCommunicationRecord,
} from '../core/store/filed-communications.js';
import type { MessagePriority } from '../core/store/messages.js';
import type { Conversations } from './conversations.js';
import type { MessageRef } from './sealing.js';

export const MAX_FILED_MESSAGES = 50;

export interface FiledMessage {
  id: number;
  sender: string;
  sentAt: number;
  priority: MessagePriority;
  body: string;
  ref: MessageRef | null;
}

export interface ChartExcerpt {
  conversationId: string;
  patientId: string;
  messages: FiledMessage[];
  /** SHA-256 (hex) of the excerpt: what the clinician confirms. */
  digest: string;
}

export interface FiledCommunication {
  id: string;
  patientId: string;
  conversationId: string;
  filedBy: string;
  filedAt: number;
  messages: FiledMessage[];
}

const filedAad = (id: string, patientId: string) => `filed:${patientId}:${id}`;

export class ChartFiling {
  readonly filed: FiledCommunicationRepository;

  constructor(
    private readonly deps: {
      store: ControlPlane;
      keyring: Keyring;
      conversations: Conversations;
      now?: () => number;
    },
  ) {
    this.filed = new FiledCommunicationRepository(deps.store.db);
  }

  /** Exactly what filing these messages would put into the record. */
  preview(c: ConversationRecord, messageIds: readonly number[]): ChartExcerpt {
    if (c.kind !== 'patient' || !c.patientId)
      throw new VitalGateError('FILING_INVALID', 'only a patient conversation is filed to a chart');
    const ids = [...new Set(messageIds)].sort((a, b) => a - b);
    if (ids.length === 0 || ids.length > MAX_FILED_MESSAGES)
      throw new VitalGateError('FILING_INVALID', `file 1 to ${MAX_FILED_MESSAGES} messages`);
    const service = this.deps.conversations;
    const messages = ids.map((id) => {
      const m = service.messages.get(id);
      if (!m || m.conversationId !== c.id)
        throw new VitalGateError('MESSAGE_NOT_FOUND', 'no such message in this conversation');
      const view = service.open(c, m);
      return {
        id,
        sender: view.sender,
        sentAt: view.sentAt,
        priority: view.priority,
        body: view.body,
        ref: view.ref,
      };
    });
    const digest = createHash('sha256')
      .update(JSON.stringify({ conversationId: c.id, patientId: c.patientId, messages }))
      .digest('hex');
    return { conversationId: c.id, patientId: c.patientId, messages, digest };
  }

  /** Files the excerpt whose digest the clinician confirmed. */
  file(
    c: ConversationRecord,
    messageIds: readonly number[],
    confirm: string,
    actor: string,
    source?: string,
  ): FiledCommunication {
    const excerpt = this.preview(c, messageIds);
    if (confirm !== excerpt.digest)
      throw new VitalGateError(
        'CONFIRMATION_MISMATCH',
        'the confirmation does not match what would be filed: preview it again',
      );
    const filed: FiledCommunication = {
      id: `cm-${randomBytes(12).toString('hex')}`,
      patientId: excerpt.patientId,
      conversationId: c.id,
      filedBy: actor,
      filedAt: (this.deps.now ?? Date.now)(),
      messages: excerpt.messages,
    };
    const sealed = this.deps.keyring.seal(
      patientKeySubject(filed.patientId),
      Buffer.from(JSON.stringify({ messages: filed.messages }), 'utf8'),
      filedAad(filed.id, filed.patientId),
    );
    this.deps.store.transaction(() => {
      this.filed.add({
        id: filed.id,
        patientId: filed.patientId,
        conversationId: c.id,
        filedBy: actor,
        filedAt: filed.filedAt,
        keyVersion: sealed.keyVersion,
        sealedContent: sealed.ciphertext,
      });
      this.deps.store.audit.append({
        actor: `user:${actor}`,
        action: 'message.file',
        target: `patient:${filed.patientId}`,
        outcome: 'success',
        source,
        details: { filedId: filed.id, conversationId: c.id, messageIds: excerpt.messages.map((m) => m.id) },
      });
    });
    return filed;
  }

  /** Everything filed to the patient's record, oldest first (KEY_DESTROYED once erased). */
  ofPatient(patientId: string): FiledCommunication[] {
    return this.filed.ofPatient(patientId).map((r) => this.opened(r));
  }

  /** One filed item by its id; none once its patient is erased (their key is destroyed). */
  get(id: string): FiledCommunication | undefined {
    const r = this.filed.get(id);
    const patient = r && this.deps.store.patients.get(r.patientId);
    return r && patient && patient.erasedAt === null ? this.opened(r) : undefined;
  }

  private opened(r: FiledCommunicationRecord): FiledCommunication {
    const plain = this.deps.keyring.open(
      patientKeySubject(r.patientId),
      r.keyVersion,
      r.sealedContent,
      filedAad(r.id, r.patientId),
    );
    const { messages } = JSON.parse(plain.toString('utf8')) as { messages: FiledMessage[] };
    return {
      id: r.id,
      patientId: r.patientId,
      conversationId: r.conversationId,
      filedBy: r.filedBy,
      filedAt: r.filedAt,
      messages,
    };
  }
}
