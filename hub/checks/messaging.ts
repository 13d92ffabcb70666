// Care-team messaging policies (docs/MESSAGING.md): the message lifespan is configured within
// policy, no message outlives it, no message is stored in clear, urgent messages escalate, and
// none sits unread past its escalation time without having escalated.
import { VitalGateError } from '../../core/errors.js';
import { ConversationRepository } from '../../core/store/conversations.js';
import { MessageRepository } from '../../core/store/messages.js';
import { MessageSealer } from '../../messaging/sealing.js';
import { fail, listIds, notApplicable, pass, warn, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;
/** A hub default lifespan above this keeps clinical chatter longer than a messaging policy should. */
export const MESSAGE_RETENTION_POLICY_DAYS = 90;
/** The sweep runs every 15 s; a message this long past its lifespan means it is not running. */
const SWEEP_GRACE_MS = 5 * 60_000;
/** An escalation time above this leaves an urgent message unread for too long. */
export const ESCALATION_POLICY_MINUTES = 30;

const references = {
  owasp: 'Data protection',
  hipaa: '164.312(a)(2)(iv) Encryption and decryption',
};

export const messageRetentionConfigured: DeploymentCheck = {
  id: 'VG-MSG-001',
  title: 'Message retention is configured within policy',
  severity: 'medium',
  verifies: `The hub default message lifespan (VITALGATE_MESSAGE_RETENTION_DAYS) is at most ${MESSAGE_RETENTION_POLICY_DAYS} days, and no conversation's lifespan is longer than it.`,
  how: 'Reads the setting and the lifespan of every conversation.',
  references: { ...references, hipaa: '164.316(b)(2)(i) Time limit' },
  run({ config, store }) {
    const days = config.messageRetentionDays;
    if (days > MESSAGE_RETENTION_POLICY_DAYS)
      return fail(
        `VITALGATE_MESSAGE_RETENTION_DAYS is ${days} days (policy: at most ${MESSAGE_RETENTION_POLICY_DAYS})`,
        `Set VITALGATE_MESSAGE_RETENTION_DAYS to ${MESSAGE_RETENTION_POLICY_DAYS} or less; file what the record needs to the chart.`,
      );
    const longer = new ConversationRepository(store.db)
      .list()
      .filter((c) => c.lifespanS !== null && c.lifespanS * 1000 > days * DAY)
      .map((c) => c.id);
    if (longer.length > 0)
      return warn(
        `conversation lifespan longer than the hub default (the default applies): ${listIds(longer)}`,
        'Set those lifespans again (PUT /api/v1/conversations/{id}/lifespan) or clear them.',
      );
    return pass(`messages live ${days} days by default`);
  },
};

export const messageRetentionEnforced: DeploymentCheck = {
  id: 'VG-MSG-002',
  title: 'No message outlives its lifespan',
  severity: 'high',
  verifies:
    'No stored message is past its lifespan (or older than the hub default) and no expired direct conversation still has a key.',
  how: 'Counts messages whose expiry passed more than 5 minutes ago or that were sent before the hub default lifespan, and direct conversations with nothing left whose key is not destroyed.',
  references: { ...references, hipaa: '164.316(b)(2)(i) Time limit' },
  run({ config, store, keyring, now }) {
    const messages = new MessageRepository(store.db);
    const overdue = messages.overdueCount(now - SWEEP_GRACE_MS);
    const oldest = messages.oldestSentAt();
    const tooOld = oldest !== undefined && oldest < now - config.messageRetentionDays * DAY - SWEEP_GRACE_MS;
    const lingering = new ConversationRepository(store.db)
      .list()
      .filter(
        (c) =>
          c.kind === 'direct' &&
          c.closedAt === null &&
          (c.lastMessageAt ?? c.createdAt) + config.messageRetentionDays * DAY < now - SWEEP_GRACE_MS &&
          messages.count(c.id) === 0 &&
          !keyring.isShredded(`conversation:${c.id}`),
      )
      .map((c) => c.id);
    const remediation =
      'Run the hub (its retention sweep destroys expired messages every 15 s) and look for sweep errors in its log.';
    if (overdue > 0 || tooOld)
      return fail(
        `${overdue} message(s) past their lifespan${tooOld ? `; oldest sent ${new Date(oldest).toISOString()}, before the ${config.messageRetentionDays}-day default` : ''}`,
        remediation,
      );
    if (lingering.length > 0)
      return fail(`expired direct conversation(s) still keyed: ${listIds(lingering)}`, remediation);
    return pass(
      `no message past its lifespan${oldest ? `; oldest sent ${new Date(oldest).toISOString()}` : ''}`,
    );
  },
};

export const messagesSealed: DeploymentCheck = {
  id: 'VG-MSG-003',
  title: 'No message text is stored in clear',
  severity: 'critical',
  verifies:
    'Every stored message opens only through its sealed key (authenticated encryption), so none is plaintext or tampered with.',
  how: 'Opens each stored message with its conversation key in memory (nothing is shown); a message of an erased patient or expired conversation counts as sealed.',
  references,
  run({ store, keyring }) {
    const conversations = new ConversationRepository(store.db);
    const sealer = new MessageSealer(keyring);
    const messages = new MessageRepository(store.db);
    let sealed = 0;
    const clear: string[] = [];
    for (const part of messages.sealedParts()) {
      const m = messages.get(part.id)!;
      const c = conversations.get(m.conversationId);
      try {
        if (!c) throw new VitalGateError('DECRYPTION_FAILED', 'no conversation');
        sealer.open(c, m);
        sealed += 1;
      } catch (err) {
        if (err instanceof VitalGateError && err.code === 'KEY_DESTROYED') sealed += 1;
        else clear.push(String(m.id));
      }
    }
    if (sealed + clear.length === 0) return notApplicable('no messages stored');
    if (clear.length > 0)
      return fail(
        `message(s) that are not sealed under their conversation key: ${listIds(clear)}`,
        'Delete those rows (they were not written by the hub) and find out how they got into the store.',
      );
    return pass(`${sealed} stored message(s), each sealed`);
  },
};

export const urgentMessagesEscalate: DeploymentCheck = {
  id: 'VG-MSG-004',
  title: 'Urgent messages escalate when unread',
  severity: 'medium',
  verifies: `An urgent message unread by anyone but its sender escalates, after at most ${ESCALATION_POLICY_MINUTES} minutes (VITALGATE_MESSAGE_ESCALATION_MINUTES).`,
  how: 'Reads the setting: 0 turns escalation off.',
  references: { owasp: 'Device security controls', hipaa: '164.312(b) Audit controls' },
  run({ config }) {
    const minutes = config.messageEscalationMinutes;
    if (minutes === 0)
      return fail(
        'VITALGATE_MESSAGE_ESCALATION_MINUTES is 0: urgent messages never escalate',
        'Set VITALGATE_MESSAGE_ESCALATION_MINUTES to the minutes an urgent message may stay unread (10 by default).',
      );
    if (minutes > ESCALATION_POLICY_MINUTES)
      return warn(
        `urgent messages escalate after ${minutes} minutes (policy: at most ${ESCALATION_POLICY_MINUTES})`,
        `Lower VITALGATE_MESSAGE_ESCALATION_MINUTES to ${ESCALATION_POLICY_MINUTES} or less.`,
      );
    return pass(`urgent messages escalate after ${minutes} minutes unread`);
  },
};

export const urgentMessagesAnswered: DeploymentCheck = {
  id: 'VG-MSG-005',
  title: 'No urgent message sits unread past its escalation time',
  severity: 'high',
  verifies:
    'Every urgent message unread past the escalation time (plus 5 minutes) has escalated: the escalation is running.',
  how: 'Lists urgent messages nobody but their sender read, not escalated, sent before the escalation time plus 5 minutes.',
  references: { owasp: 'Device security controls', hipaa: '164.312(b) Audit controls' },
  run({ config, store, now }) {
    if (config.messageEscalationMinutes === 0) return notApplicable('escalation is off (see VG-MSG-004)');
    const stuck = new MessageRepository(store.db).urgentUnread(
      now - config.messageEscalationMinutes * 60_000 - SWEEP_GRACE_MS,
    );
    if (stuck.length > 0)
      return fail(
        `urgent message(s) unread and not escalated: ${listIds(stuck.map((m) => `${m.conversationId}#${m.id}`))}`,
        'Run the hub (it escalates every 15 s) and look for escalation errors in its log.',
      );
    return pass('every urgent message was read or escalated in time');
  },
};

export const MESSAGING_CHECKS: readonly DeploymentCheck[] = [
  messageRetentionConfigured,
  messageRetentionEnforced,
  messagesSealed,
  urgentMessagesEscalate,
  urgentMessagesAnswered,
];
