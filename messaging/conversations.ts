// Care-team conversations: who is in one, sending, reading with receipts, recall, and the lifespan
// an admin sets. Knows nothing of HTTP: the API's PHI gate decides first whether a caller may
// read a patient at all (role, network, assignment or break-glass); here a patient conversation's
// members are the patient's assigned clinicians plus whoever a member added (who must be able to
// read that patient), and a direct conversation's members are the staff named in it. Bodies are
// sealed (sealing.ts); the audit trail names ids, never text.
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../core/audit.js';
import { READING_TYPES } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { ConversationRepository, type ConversationRecord } from '../core/store/conversations.js';
import {
  MessageRepository,
  type MessagePriority,
  type MessageRecord,
  type Receipt,
} from '../core/store/messages.js';
import type { MessagingFeed } from './feed.js';
import type { MessageSealer } from './sealing.js';
import { type MessageContent, type MessageRef } from './sealing.js';

export const MAX_MESSAGE_CHARS = 2000;
export const MAX_DIRECT_MEMBERS = 20;
/** A reading-range reference spans at most this long. */
export const MAX_REF_SPAN_MS = 7 * 86_400_000;
export const CONVERSATION_ID_PATTERN = /^cnv_[A-Za-z0-9_-]{16}$/;

export interface MessagingDeps {
  store: ControlPlane;
  sealer: MessageSealer;
  feed: MessagingFeed;
  /** The hub default lifespan of a message (days). */
  retentionDays: number;
  /** Assignment or break-glass of a user for a patient now (the PHI gate's rule). */
  mayReadPatient: (username: string, patientId: string) => boolean;
  now?: () => number;
}

export interface MessageView {
  id: number;
  conversationId: string;
  sender: string;
  priority: MessagePriority;
  sentAt: number;
  expiresAt: number;
  body: string;
  ref: MessageRef | null;
  receipts: Receipt[];
}

export interface ConversationSummary {
  id: string;
  kind: ConversationRecord['kind'];
  patientId: string | null;
  createdAt: number;
  lastMessageAt: number | null;
  unread: number;
  members: string[];
  lifespanHours: number;
}

export class Conversations {
  readonly conversations: ConversationRepository;
  readonly messages: MessageRepository;
  private readonly audit: AuditLog;
  private readonly now: () => number;

  constructor(private readonly deps: MessagingDeps) {
    this.conversations = new ConversationRepository(deps.store.db);
    this.messages = new MessageRepository(deps.store.db);
    this.audit = deps.store.audit;
    this.now = deps.now ?? Date.now;
  }

  get defaultLifespanMs(): number {
    return this.deps.retentionDays * 86_400_000;
  }

  lifespanMs(c: ConversationRecord): number {
    return c.lifespanS === null
      ? this.defaultLifespanMs
      : Math.min(this.defaultLifespanMs, c.lifespanS * 1000);
  }

  require(id: string): ConversationRecord {
    const c = CONVERSATION_ID_PATTERN.test(id) ? this.conversations.get(id) : undefined;
    if (!c) throw new VitalGateError('CONVERSATION_NOT_FOUND', 'no such conversation');
    return c;
  }

  /**
   * The patient's conversation, opened on first use (its opener becomes a member). The caller
   * passed the PHI gate for the patient; an existing conversation is joined only by being assigned
   * or added by a member, so the caller checks membership (break-glass alone does not make one).
   */
  openForPatient(patientId: string, actor: string): { conversation: ConversationRecord; created: boolean } {
    const patient = this.deps.store.patients.require(patientId);
    if (patient.erasedAt !== null) throw new VitalGateError('PATIENT_ERASED', 'this patient was erased');
    const existing = this.conversations.ofPatient(patientId);
    if (existing) return { conversation: existing, created: false };
    const conversation = this.create('patient', patientId, actor);
    if (!this.deps.store.patients.isAssigned(patientId, actor))
      this.addMemberUnchecked(conversation, actor, actor);
    return { conversation, created: true };
  }

  /** A direct conversation between the actor and the named clinicians. */
  openDirect(actor: string, members: readonly string[]): ConversationRecord {
    const others = [...new Set(members)].filter((m) => m !== actor);
    if (others.length === 0 || others.length > MAX_DIRECT_MEMBERS)
      throw new VitalGateError(
        'MEMBER_INVALID',
        `a direct conversation names 1 to ${MAX_DIRECT_MEMBERS} other members`,
      );
    for (const m of others) this.requireClinician(m);
    const conversation = this.create('direct', null, actor);
    for (const m of [actor, ...others]) this.conversations.addMember(conversation.id, m, actor, this.now());
    return conversation;
  }

  /** Members now: a patient conversation's assigned clinicians, then the named members. */
  members(c: ConversationRecord): string[] {
    const named = this.conversations.members(c.id);
    if (c.kind === 'direct' || !c.patientId) return named;
    return [...new Set([...this.deps.store.patients.assigneesOf(c.patientId), ...named])];
  }

  isMember(c: ConversationRecord, username: string): boolean {
    if (c.kind === 'patient' && c.patientId && this.deps.store.patients.isAssigned(c.patientId, username))
      return true;
    return this.conversations.isMember(c.id, username);
  }

  /** A member adds a clinician; to a patient conversation only one who may read that patient. */
  addMember(c: ConversationRecord, username: string, actor: string, source?: string): void {
    this.requireOpen(c);
    this.requireClinician(username);
    if (c.kind === 'patient' && c.patientId && !this.deps.mayReadPatient(username, c.patientId))
      throw new VitalGateError(
        'MEMBER_INVALID',
        'that clinician may not read this patient (not assigned, no break-glass access)',
      );
    this.addMemberUnchecked(c, username, actor, source);
  }

  /** Conversations the user is a member of and may read now (patients through the PHI gate's rule). */
  listFor(username: string, accessiblePatients: readonly string[]): ConversationSummary[] {
    return this.conversations
      .visibleTo(username, accessiblePatients)
      .filter((c) => this.isMember(c, username))
      .filter(
        (c) =>
          c.kind === 'direct' || (c.patientId !== null && this.deps.mayReadPatient(username, c.patientId)),
      )
      .map((c) => this.summary(c, username));
  }

  summary(c: ConversationRecord, username: string): ConversationSummary {
    return {
      id: c.id,
      kind: c.kind,
      patientId: c.patientId,
      createdAt: c.createdAt,
      lastMessageAt: c.lastMessageAt,
      unread: this.messages.unreadCount(c.id, username),
      members: this.members(c),
      lifespanHours: Math.round(this.lifespanMs(c) / 3_600_000),
    };
  }

  send(
    c: ConversationRecord,
    sender: string,
    input: { body: string; priority: MessagePriority; ref?: MessageRef | undefined },
    source?: string,
  ): MessageView {
    this.requireOpen(c);
    const content = this.validContent(c, input);
    const sentAt = this.now();
    const expiresAt = sentAt + this.lifespanMs(c);
    const id = this.deps.store.transaction(() => {
      const messageId = this.messages.nextId();
      const sealed = this.deps.sealer.seal(c, messageId, content);
      this.messages.add({
        id: messageId,
        conversationId: c.id,
        sender,
        priority: input.priority,
        sentAt,
        expiresAt,
        ...sealed,
      });
      this.conversations.touch(c.id, sentAt);
      this.audit.append({
        actor: `user:${sender}`,
        action: 'message.send',
        target: `conversation:${c.id}`,
        outcome: 'success',
        source,
        details: { messageId, priority: input.priority, ref: content.ref?.kind ?? null },
      });
      return messageId;
    });
    this.deps.feed.publish(this.members(c), {
      kind: 'message',
      conversationId: c.id,
      messageId: id,
      sender,
      priority: input.priority,
      aboutPatient: c.kind === 'patient',
      sentAt,
    });
    return {
      id,
      conversationId: c.id,
      sender,
      priority: input.priority,
      sentAt,
      expiresAt,
      ...viewOf(content),
      receipts: [],
    };
  }

  /** Opens the messages after `afterId` for a member, and records their delivery to the reader. */
  read(c: ConversationRecord, reader: string, afterId = 0, limit = 200): MessageView[] {
    const rows = this.messages.list(c.id, afterId, limit);
    const views = rows.map((m) => this.open(c, m));
    const delivered = this.messages.markDelivered(
      rows.filter((m) => m.sender !== reader).map((m) => m.id),
      reader,
      this.now(),
    );
    if (delivered.length > 0) {
      this.deps.feed.publish(this.members(c), {
        kind: 'receipt',
        conversationId: c.id,
        messageIds: delivered,
        username: reader,
        state: 'delivered',
      });
    }
    return views;
  }

  /** Read receipts of the reader for every message up to `uptoId`. */
  markRead(c: ConversationRecord, reader: string, uptoId: number): number[] {
    const ids = this.messages.markRead(c.id, reader, uptoId, this.now());
    if (ids.length > 0)
      this.deps.feed.publish(this.members(c), {
        kind: 'receipt',
        conversationId: c.id,
        messageIds: ids,
        username: reader,
        state: 'read',
      });
    return ids;
  }

  /** The sender destroys a message for every member: ciphertext and key gone; audited without text. */
  recall(c: ConversationRecord, messageId: number, actor: string, source?: string): void {
    const message = this.messages.get(messageId);
    if (!message || message.conversationId !== c.id)
      throw new VitalGateError('MESSAGE_NOT_FOUND', 'no such message in this conversation');
    if (message.sender !== actor)
      throw new VitalGateError('RECALL_NOT_SENDER', 'only the sender can recall a message');
    this.messages.destroy([messageId]);
    this.audit.append({
      actor: `user:${actor}`,
      action: 'message.recall',
      target: `conversation:${c.id}`,
      outcome: 'success',
      source,
      details: { messageId, sentAt: new Date(message.sentAt).toISOString() },
    });
    this.deps.feed.publish(this.members(c), { kind: 'recalled', conversationId: c.id, messageId });
  }

  /**
   * An admin sets a lifespan shorter than the hub default (null: back to the default). Messages
   * already stored are held to it at once; the retention sweep destroys what is now past it.
   */
  setLifespan(
    c: ConversationRecord,
    hours: number | null,
    actor: string,
    source?: string,
  ): ConversationRecord {
    if (
      hours !== null &&
      (!Number.isInteger(hours) || hours < 1 || hours * 3_600_000 > this.defaultLifespanMs)
    )
      throw new VitalGateError(
        'LIFESPAN_INVALID',
        `a conversation's lifespan is 1 hour to the hub default (${this.deps.retentionDays} days)`,
      );
    this.deps.store.transaction(() => {
      this.conversations.setLifespan(c.id, hours === null ? null : hours * 3600);
      if (hours !== null) this.messages.capExpiry(c.id, hours * 3_600_000);
      this.audit.append({
        actor,
        action: 'conversation.lifespan',
        target: `conversation:${c.id}`,
        outcome: 'success',
        source,
        details: { hours },
      });
    });
    return this.conversations.get(c.id)!;
  }

  /** Opens one stored message (KEY_DESTROYED when its patient was erased). */
  open(c: ConversationRecord, m: MessageRecord): MessageView {
    const content = this.deps.sealer.open(c, m);
    return {
      id: m.id,
      conversationId: c.id,
      sender: m.sender,
      priority: m.priority,
      sentAt: m.sentAt,
      expiresAt: m.expiresAt,
      ...viewOf(content),
      receipts: this.messages.receipts(m.id),
    };
  }

  private create(
    kind: ConversationRecord['kind'],
    patientId: string | null,
    actor: string,
  ): ConversationRecord {
    const id = `cnv_${randomBytes(12).toString('base64url')}`;
    this.conversations.add({ id, kind, patientId, createdBy: actor, createdAt: this.now() });
    this.audit.append({
      actor: `user:${actor}`,
      action: 'conversation.create',
      target: `conversation:${id}`,
      outcome: 'success',
      details: { kind, ...(patientId ? { patientId } : {}) },
    });
    return this.conversations.get(id)!;
  }

  private addMemberUnchecked(c: ConversationRecord, username: string, actor: string, source?: string): void {
    if (!this.conversations.addMember(c.id, username, actor, this.now())) return;
    this.audit.append({
      actor: actor.includes(':') ? actor : `user:${actor}`,
      action: 'conversation.member.add',
      target: `conversation:${c.id}`,
      outcome: 'success',
      source,
      details: { username },
    });
  }

  private requireClinician(username: string): void {
    const user = this.deps.store.users.get(username);
    if (!user || user.disabledAt !== null || user.role !== 'clinician')
      throw new VitalGateError('MEMBER_INVALID', 'members are active clinician accounts');
  }

  private requireOpen(c: ConversationRecord): void {
    if (c.closedAt !== null) throw new VitalGateError('CONVERSATION_CLOSED', 'this conversation has expired');
    if (c.patientId && this.deps.store.patients.get(c.patientId)?.erasedAt != null)
      throw new VitalGateError('PATIENT_ERASED', 'this patient was erased');
  }

  private validContent(
    c: ConversationRecord,
    input: { body: string; ref?: MessageRef | undefined },
  ): MessageContent {
    const body = input.body.trim();
    if (body.length === 0 || body.length > MAX_MESSAGE_CHARS)
      throw new VitalGateError('MESSAGE_INVALID', `a message body is 1 to ${MAX_MESSAGE_CHARS} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(body))
      throw new VitalGateError(
        'MESSAGE_INVALID',
        'a message body holds no control characters but line breaks and tabs',
      );
    const ref = input.ref;
    if (!ref) return { body };
    if (c.kind !== 'patient' || !c.patientId)
      throw new VitalGateError(
        'MESSAGE_INVALID',
        'only a patient conversation refers to an alert or readings',
      );
    if (ref.kind === 'alert') {
      const alert = this.deps.store.alerts.get(ref.alertId);
      if (!alert || alert.patientId !== c.patientId)
        throw new VitalGateError('MESSAGE_INVALID', "the alert is not one of this conversation's patient");
      return { body, ref: { kind: 'alert', alertId: ref.alertId } };
    }
    if (!(ref.from < ref.to) || ref.to - ref.from > MAX_REF_SPAN_MS)
      throw new VitalGateError('MESSAGE_INVALID', 'a reading range runs forward and spans at most 7 days');
    const types = ref.types?.filter((t) => (READING_TYPES as readonly string[]).includes(t));
    if (ref.types && types?.length !== ref.types.length)
      throw new VitalGateError('MESSAGE_INVALID', 'unknown reading type in the reference');
    return { body, ref: { kind: 'readings', from: ref.from, to: ref.to, ...(types ? { types } : {}) } };
  }
}

function viewOf(content: MessageContent): { body: string; ref: MessageRef | null } {
  return { body: content.body, ref: content.ref ?? null };
}
