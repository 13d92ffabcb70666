// An urgent message nobody but its sender has read within VITALGATE_MESSAGE_ESCALATION_MINUTES
// escalates once: a security-style event (ids only), an audit entry, and a notification to the
// next member of the patient's care team: whoever is on call for the patient's team, then the
// team's leads and members, then the assigned clinicians, first one who is not the sender and was
// not delivered the message yet (else the first who is not the sender). A direct conversation's
// other members are notified again. The notice names no patient and holds no text. The hub calls
// `tick()` on a timer; tests call it with the clock moved on.
import type { ControlPlane } from '../core/store/control-plane.js';
import { CareTeamRepository } from '../core/store/care-teams.js';
import type { Conversations } from './conversations.js';
import type { MessagingFeed } from './feed.js';

export interface MessageEscalationNotice {
  conversationId: string;
  messageId: number;
  to: string[];
}

export class UrgentMessageEscalation {
  private readonly teams: CareTeamRepository;

  constructor(
    private readonly deps: {
      store: ControlPlane;
      conversations: Conversations;
      feed: MessagingFeed;
      /** Minutes an urgent message may stay unread; 0 turns escalation off. */
      afterMinutes: number;
      /** Who is on call for a care team now (the care layer's rota); none without it. */
      onCall?: (teamId: string) => string[];
      now?: () => number;
    },
  ) {
    this.teams = new CareTeamRepository(deps.store.db);
  }

  tick(): MessageEscalationNotice[] {
    if (this.deps.afterMinutes <= 0) return [];
    const at = (this.deps.now ?? Date.now)();
    const { conversations: service } = this.deps;
    const notices: MessageEscalationNotice[] = [];
    for (const m of service.messages.urgentUnread(at - this.deps.afterMinutes * 60_000)) {
      if (!service.messages.markEscalated(m.id, at)) continue;
      const c = service.conversations.get(m.conversationId);
      if (!c) continue;
      const delivered = new Set(
        service.messages
          .receipts(m.id)
          .filter((r) => r.deliveredAt !== null)
          .map((r) => r.username),
      );
      const to =
        c.kind === 'patient' && c.patientId
          ? this.nextOnCareTeam(c.patientId, m.sender, delivered)
          : service.members(c).filter((u) => u !== m.sender);
      this.deps.store.securityEvents.add({
        kind: 'urgent_message_unread',
        severity: 'medium',
        username: m.sender,
        details: { conversationId: c.id, messageId: m.id, minutes: this.deps.afterMinutes, notified: to },
      });
      this.deps.store.audit.append({
        actor: 'system:message-escalation',
        action: 'message.escalate',
        target: `conversation:${c.id}`,
        outcome: 'success',
        details: { messageId: m.id, notified: to },
      });
      for (const u of to) {
        if (c.kind === 'patient' && !service.isMember(c, u))
          service.conversations.addMember(c.id, u, 'system:message-escalation', at);
      }
      this.deps.feed.publish(to, {
        kind: 'escalation',
        conversationId: c.id,
        messageId: m.id,
        aboutPatient: c.kind === 'patient',
      });
      notices.push({ conversationId: c.id, messageId: m.id, to });
    }
    return notices;
  }

  private nextOnCareTeam(patientId: string, sender: string, delivered: ReadonlySet<string>): string[] {
    const teamId = this.teams.teamOf(patientId);
    const candidates = [
      ...(teamId ? (this.deps.onCall?.(teamId) ?? []) : []),
      ...(teamId ? this.teams.members(teamId, 'lead') : []),
      ...(teamId ? this.teams.members(teamId) : []),
      ...this.deps.store.patients.assigneesOf(patientId),
    ].filter((u) => u !== sender);
    const next = candidates.find((u) => !delivered.has(u)) ?? candidates[0];
    return next ? [next] : [];
  }
}
