// The lifecycle of a clinical alert: open → acknowledged → resolved, by the rules (readings
// recovered: auto-clear) or by a clinician with a reason; and snooze for a chosen time with a
// reason. While snoozed an alert raises no notification; when the snooze ends and the alert is
// still active (its condition has not cleared) it notifies again. Every transition is audited
// and kept on the alert (its history). Reasons are clinical free text: sealed under the
// patient's key, like the acknowledgement note. Time comes from an injectable clock; `tick()`
// ends due snoozes (the hub calls it on a timer, tests call it directly).
import { EventEmitter } from 'node:events';
import { VitalGateError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import { patientKeySubject } from '../core/patient-registry.js';
import { AlertEventRepository, type AlertEventKind } from '../core/store/alert-events.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { AlertRecord } from '../core/store/ingest-state.js';
import type { AlertBus, AlertEvent } from '../ingest/alerts.js';

/** A notification is due for an alert: it was raised, or its snooze ended while still active. */
export interface AlertNotice {
  alert: AlertRecord;
  reason: 'raised' | 'snooze_ended';
}

export interface AlertHistoryEntry {
  kind: 'raised' | 'acknowledged' | AlertEventKind;
  at: number;
  actor: string | null;
  until?: number;
  reason?: string;
}

export interface AlertLifecycleDeps {
  store: ControlPlane;
  keyring: Keyring;
  bus: AlertBus;
  now?: () => number;
}

export const MAX_SNOOZE_MINUTES = 24 * 60;

const reasonAad = (alertId: number, eventKind: string) => `alert-reason|${alertId}|${eventKind}`;

export class AlertLifecycle {
  readonly notices = new EventEmitter<{ notice: [AlertNotice] }>();
  private readonly events: AlertEventRepository;
  private readonly now: () => number;
  private readonly onAlert = (e: AlertEvent) => this.observe(e);

  constructor(private readonly deps: AlertLifecycleDeps) {
    this.events = new AlertEventRepository(deps.store.db);
    this.now = deps.now ?? Date.now;
    deps.bus.on('alert', this.onAlert);
  }

  close(): void {
    this.deps.bus.off('alert', this.onAlert);
  }

  private observe(e: AlertEvent): void {
    if (e.type === 'raised') {
      this.notices.emit('notice', { alert: e.alert, reason: 'raised' });
      return;
    }
    // Cleared by the rules (a clinician's resolve is recorded by resolve()).
    if (this.events.state(e.alert.id)?.clearedBy === null) {
      this.events.add({
        alertId: e.alert.id,
        at: e.alert.clearedAt ?? this.now(),
        kind: 'auto_cleared',
        actor: null,
        until: null,
        keyVersion: null,
        sealedReason: null,
      });
    }
  }

  private active(alertId: number): AlertRecord & { patientId: string } {
    const alert = this.deps.store.alerts.get(alertId);
    if (!alert || alert.patientId === null) throw new VitalGateError('ALERT_NOT_FOUND', 'no such alert');
    if (alert.status === 'cleared') throw new VitalGateError('ALERT_STATE_CONFLICT', 'the alert is resolved');
    return alert as AlertRecord & { patientId: string };
  }

  private sealedReason(alert: { id: number; patientId: string }, kind: string, reason: string) {
    const sealed = this.deps.keyring.seal(
      patientKeySubject(alert.patientId),
      Buffer.from(reason, 'utf8'),
      reasonAad(alert.id, kind),
    );
    return { keyVersion: sealed.keyVersion, sealedReason: sealed.ciphertext };
  }

  /** Snoozes an active alert for `minutes` (1 to 24 h). A new snooze replaces a running one. */
  snooze(
    alertId: number,
    who: { username: string; source?: string | undefined },
    minutes: number,
    reason: string,
  ): AlertRecord & { snoozedUntil: number } {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_SNOOZE_MINUTES)
      throw new VitalGateError(
        'SNOOZE_INVALID',
        `minutes must be a whole number from 1 to ${MAX_SNOOZE_MINUTES}`,
        {
          field: 'minutes',
        },
      );
    const alert = this.active(alertId);
    const until = this.now() + minutes * 60_000;
    this.deps.store.transaction(() => {
      if (!this.events.snooze(alert.id, until))
        throw new VitalGateError('ALERT_STATE_CONFLICT', 'the alert is resolved');
      this.events.add({
        alertId: alert.id,
        at: this.now(),
        kind: 'snoozed',
        actor: `user:${who.username}`,
        until,
        ...this.sealedReason(alert, 'snoozed', reason),
      });
      this.audit(who, 'alert.snooze', alert, { minutes });
    });
    return { ...this.deps.store.alerts.get(alert.id)!, snoozedUntil: until };
  }

  /** A clinician resolves an active alert, with a reason. The rules start a new alert on a new breach. */
  resolve(
    alertId: number,
    who: { username: string; source?: string | undefined },
    reason: string,
  ): AlertRecord {
    const alert = this.active(alertId);
    const at = this.now();
    this.deps.store.transaction(() => {
      if (!this.events.resolve(alert.id, who.username, at))
        throw new VitalGateError('ALERT_STATE_CONFLICT', 'the alert is resolved');
      this.events.add({
        alertId: alert.id,
        at,
        kind: 'resolved',
        actor: `user:${who.username}`,
        until: null,
        ...this.sealedReason(alert, 'resolved', reason),
      });
      this.audit(who, 'alert.resolve', alert, {});
    });
    const resolved = this.deps.store.alerts.get(alert.id)!;
    this.deps.bus.emit('alert', { type: 'cleared', alert: resolved });
    return resolved;
  }

  /** Whether the alert is snoozed now (no notification is sent for it). */
  isSnoozed(alertId: number): boolean {
    const until = this.events.state(alertId)?.snoozedUntil;
    return until !== null && until !== undefined && until > this.now();
  }

  snoozedUntil(alertId: number): number | null {
    const until = this.events.state(alertId)?.snoozedUntil ?? null;
    return until !== null && until > this.now() ? until : null;
  }

  /** Ends due snoozes; an alert still active notifies again. Each snooze end is handled once. */
  tick(): AlertNotice[] {
    const now = this.now();
    const out: AlertNotice[] = [];
    for (const id of this.events.dueSnoozes(now)) {
      const ended = this.deps.store.transaction(() => {
        if (!this.events.endSnooze(id, now)) return undefined;
        const alert = this.deps.store.alerts.get(id)!;
        const still = alert.status !== 'cleared';
        this.events.add({
          alertId: id,
          at: now,
          kind: still ? 'renotified' : 'snooze_ended',
          actor: null,
          until: null,
          keyVersion: null,
          sealedReason: null,
        });
        return still ? alert : undefined;
      });
      if (ended) out.push({ alert: ended, reason: 'snooze_ended' });
    }
    for (const notice of out) this.notices.emit('notice', notice);
    return out;
  }

  /** Every transition of the alert, oldest first, with reasons opened (unless the patient is erased). */
  history(alert: AlertRecord): AlertHistoryEntry[] {
    const out: AlertHistoryEntry[] = [{ kind: 'raised', at: alert.raisedAt, actor: null }];
    if (alert.ackedAt !== null)
      out.push({ kind: 'acknowledged', at: alert.ackedAt, actor: alert.ackedBy && `user:${alert.ackedBy}` });
    for (const e of this.events.forAlert(alert.id)) {
      const entry: AlertHistoryEntry = { kind: e.kind, at: e.at, actor: e.actor };
      if (e.until !== null) entry.until = e.until;
      const reason = this.openReason(alert, e.kind, e.keyVersion, e.sealedReason);
      if (reason !== undefined) entry.reason = reason;
      out.push(entry);
    }
    return out.sort((a, b) => a.at - b.at);
  }

  private openReason(
    alert: AlertRecord,
    kind: string,
    keyVersion: number | null,
    sealed: Buffer | null,
  ): string | undefined {
    if (alert.patientId === null || keyVersion === null || sealed === null) return undefined;
    const subject = patientKeySubject(alert.patientId);
    if (this.deps.keyring.isShredded(subject)) return undefined;
    return this.deps.keyring.open(subject, keyVersion, sealed, reasonAad(alert.id, kind)).toString('utf8');
  }

  private audit(
    who: { username: string; source?: string | undefined },
    action: string,
    alert: AlertRecord & { patientId: string },
    details: Record<string, unknown>,
  ): void {
    this.deps.store.audit.append({
      actor: `user:${who.username}`,
      action,
      target: `patient:${alert.patientId}`,
      outcome: 'success',
      source: who.source,
      details: { alertId: alert.id, rule: alert.rule, ...details },
    });
  }
}
