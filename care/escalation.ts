// Escalation ladders: for each severity, who is notified how long after an alert is raised
// (critical: the patient's assigned clinicians at once, the on-call clinician after 5 min
// unacknowledged, the team lead after 15 min). Steps are stored when the alert is raised (and,
// after a restart, for any active alert that has none), so they survive the hub: each due step
// fires once (a conditional update), never twice and never not at all. Recipients of a role
// are resolved at the moment the step fires. An acknowledgement or resolve cancels what is
// pending; a snoozed alert's steps wait for the snooze to end. Time is an injectable clock;
// `tick()` is called by the hub on a timer and by tests directly.
import { EventEmitter } from 'node:events';
import { CareTeamRepository } from '../core/store/care-teams.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { EscalationRepository, type LadderStep } from '../core/store/escalations.js';
import type { AlertRecord } from '../core/store/ingest-state.js';
import type { AlertLifecycle, AlertNotice } from './alert-lifecycle.js';
import { OnCallRota } from './on-call.js';

export const BUILT_IN_LADDERS: Readonly<Record<string, readonly LadderStep[]>> = {
  critical: [
    { step: 0, afterS: 0, target: 'assigned' },
    { step: 1, afterS: 300, target: 'role:on_call' },
    { step: 2, afterS: 900, target: 'role:team_lead' },
  ],
  high: [
    { step: 0, afterS: 0, target: 'assigned' },
    { step: 1, afterS: 900, target: 'role:on_call' },
  ],
};
const FALLBACK: readonly LadderStep[] = [{ step: 0, afterS: 0, target: 'assigned' }];

export const LADDER_TARGETS = ['assigned', 'role:on_call', 'role:team_lead'] as const;

/** A step that fired: who it reached (usernames; empty when nobody holds the role now). */
export interface EscalationPage {
  alert: AlertRecord;
  step: number;
  target: string;
  recipients: string[];
}

export interface EscalationDeps {
  store: ControlPlane;
  lifecycle: AlertLifecycle;
  now?: () => number;
}

export class Escalation {
  readonly pages = new EventEmitter<{ page: [EscalationPage] }>();
  readonly repo: EscalationRepository;
  private readonly teams: CareTeamRepository;
  private readonly rota: OnCallRota;
  private readonly now: () => number;
  private readonly onNotice = (n: AlertNotice) => {
    if (n.reason === 'raised') this.schedule(n.alert);
  };

  constructor(private readonly deps: EscalationDeps) {
    this.now = deps.now ?? Date.now;
    this.repo = new EscalationRepository(deps.store.db);
    this.teams = new CareTeamRepository(deps.store.db, this.now);
    this.rota = new OnCallRota(deps.store, this.now);
    deps.lifecycle.notices.on('notice', this.onNotice);
  }

  close(): void {
    this.deps.lifecycle.notices.off('notice', this.onNotice);
  }

  ladder(severity: string): readonly LadderStep[] {
    return this.repo.ladder(severity) ?? BUILT_IN_LADDERS[severity] ?? FALLBACK;
  }

  /** Stores the alert's ladder steps, counted from now (idempotent), then fires what is due. */
  schedule(alert: AlertRecord): void {
    if (alert.patientId === null) return;
    this.store(alert, this.now());
    this.tick();
  }

  private store(alert: AlertRecord, from: number): void {
    this.repo.schedule(
      alert.id,
      this.ladder(alert.severity).map((s) => ({
        step: s.step,
        target: s.target,
        dueAt: from + s.afterS * 1000,
      })),
    );
  }

  /** Who a target means for the alert's patient, now. */
  recipients(target: string, patientId: string): string[] {
    if (target === 'assigned') return this.deps.store.patients.assigneesOf(patientId);
    const team = this.teams.teamOf(patientId);
    if (!team) return [];
    if (target === 'role:on_call') return this.rota.onCall(team, this.now());
    if (target === 'role:team_lead') return this.teams.members(team, 'lead');
    return [];
  }

  /** Fires due steps once each; cancels those of acknowledged or resolved alerts. */
  tick(): EscalationPage[] {
    const now = this.now();
    // After a restart: an active alert raised while no ladder ran gets its steps now.
    for (const alert of this.deps.store.alerts.active())
      if (alert.patientId !== null && !this.repo.hasSteps(alert.id)) this.store(alert, alert.raisedAt);
    const fired: EscalationPage[] = [];
    for (const step of this.repo.due(now)) {
      const alert = this.deps.store.alerts.get(step.alertId);
      if (!alert || alert.patientId === null || alert.status !== 'open') {
        this.repo.cancel(step.alertId, now);
        continue;
      }
      if (this.deps.lifecycle.isSnoozed(alert.id)) continue;
      const recipients = this.recipients(step.target, alert.patientId);
      const page = this.deps.store.transaction(() => {
        if (!this.repo.fire(step.id, now, recipients)) return undefined;
        this.deps.store.audit.append({
          actor: 'system',
          action: 'alert.escalate',
          target: `patient:${alert.patientId}`,
          outcome: recipients.length > 0 ? 'success' : 'failure',
          details: { alertId: alert.id, rule: alert.rule, step: step.step, to: step.target, recipients },
        });
        return { alert, step: step.step, target: step.target, recipients };
      });
      if (page) fired.push(page);
    }
    for (const page of fired) this.pages.emit('page', page);
    return fired;
  }
}
