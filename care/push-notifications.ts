// Web Push to staff browsers (RFC 8030, payload encrypted per RFC 8291, signed per RFC 8292 with
// the hub's VAPID key), through the `web-push` library. Every escalation page becomes one
// notification per browser its recipients allowed; an alert whose snooze ended while still
// active notifies those it had reached again. The payload carries no PHI: only the severity
// ("Critical alert for a patient of yours") and an opaque link (a random token the console
// resolves after sign-in). Each notification is a stored delivery: sent at once, retried on a
// push service's temporary failure (5 s, 30 s, 2 min), and reported (audited, logged) when it
// finally fails; a subscription the push service no longer knows (404/410) is dropped.
import { randomBytes } from 'node:crypto';
import type { Agent } from 'node:https';
import webpush from 'web-push';
import type { Keyring } from '../core/keyring.js';
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { EscalationRepository } from '../core/store/escalations.js';
import type { AlertRecord } from '../core/store/ingest-state.js';
import { PushRepository, type PushDeliveryRecord } from '../core/store/push.js';
import type { AlertLifecycle, AlertNotice } from './alert-lifecycle.js';
import type { Escalation, EscalationPage } from './escalation.js';
import { endpointAllowed } from './push-subscriptions.js';
import { VapidKeys } from './vapid-keys.js';

/** Seconds to wait before each retry of a push the service refused for now (then reported). */
export const RETRY_DELAYS_S = [5, 30, 120] as const;
/** A delivery left `sending` this long (a hub stopped mid-request) is tried again. */
const STALE_SENDING_MS = 60_000;
const TTL_S = 3600;
/** A test notification a clinician sends to their own browsers: no alert (id 0). */
const TEST_SEVERITY = 'test';

/** What the service worker shows: no name, no value, no patient id. */
export interface PushPayload {
  title: string;
  body: string;
  /** Console route that resolves the token after sign-in. */
  url: string;
  tag: string;
}

/**
 * Severities of the notices of an urgent care-team message left unread (messaging/escalation.ts):
 * no alert (id 0); the link opens the clinician's conversations after sign-in.
 */
export const URGENT_MESSAGE_SEVERITY = {
  patient: 'urgent_message_patient',
  direct: 'urgent_message',
} as const;

export function payloadFor(severity: string, token: string): PushPayload {
  if (severity === URGENT_MESSAGE_SEVERITY.patient || severity === URGENT_MESSAGE_SEVERITY.direct)
    return {
      title: 'VitalGate',
      body:
        severity === URGENT_MESSAGE_SEVERITY.patient
          ? 'Urgent message about a patient, unread'
          : 'Urgent message from a colleague, unread',
      url: '/#/conversations',
      tag: token,
    };
  const word = severity.charAt(0).toUpperCase() + severity.slice(1);
  return {
    title: 'VitalGate',
    body:
      severity === TEST_SEVERITY
        ? 'Test notification: alerts will arrive like this'
        : `${word} alert for a patient of yours`,
    url: `/#/notifications/${token}`,
    tag: token,
  };
}

/** Sends one encrypted push; answers the push service's HTTP status or throws (with statusCode when it answered). */
export type PushSend = (
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
  payload: string,
  options: webpush.RequestOptions,
) => Promise<{ statusCode: number }>;

export interface PushNotifierDeps {
  store: ControlPlane;
  keyring: Keyring;
  escalation: Escalation;
  lifecycle: AlertLifecycle;
  /** VAPID subject: a mailto: or https: contact for the push services. */
  contact: string;
  /** Host names push endpoints may be on (each also covers its subdomains). */
  serviceHosts: readonly string[];
  logger?: Logger;
  now?: () => number;
  /** The TLS agent towards push services (a test trusts its own push-service stand-in with it). */
  agent?: Agent;
  send?: PushSend;
}

export class PushNotifier {
  readonly repo: PushRepository;
  readonly vapid: VapidKeys;
  private readonly steps: EscalationRepository;
  private readonly now: () => number;
  private readonly send: PushSend;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly onPage = (page: EscalationPage) => this.notify(page.alert, page.recipients, 'escalation');
  private readonly onNotice = (n: AlertNotice) => {
    if (n.reason === 'snooze_ended') this.notify(n.alert, this.reachedBefore(n.alert), 'snooze_ended');
  };

  constructor(private readonly deps: PushNotifierDeps) {
    this.now = deps.now ?? Date.now;
    this.repo = new PushRepository(deps.store.db, this.now);
    this.vapid = new VapidKeys(deps.store, deps.keyring, this.now);
    this.steps = new EscalationRepository(deps.store.db);
    this.send = deps.send ?? ((sub, payload, options) => webpush.sendNotification(sub, payload, options));
    deps.escalation.pages.on('page', this.onPage);
    deps.lifecycle.notices.on('notice', this.onNotice);
  }

  /** Stops listening and waits for the pushes under way. */
  async close(): Promise<void> {
    this.deps.escalation.pages.off('page', this.onPage);
    this.deps.lifecycle.notices.off('notice', this.onNotice);
    await this.settled();
  }

  /** Resolves when every push under way has been answered (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Everyone the alert's ladder has reached so far; the assigned clinicians if nobody yet. */
  private reachedBefore(alert: AlertRecord): string[] {
    const fired = this.steps.forAlert(alert.id).flatMap((s) => s.recipients ?? []);
    if (fired.length > 0) return [...new Set(fired)];
    return alert.patientId === null ? [] : this.deps.store.patients.assigneesOf(alert.patientId);
  }

  /** One stored delivery per browser of each recipient, sent at once. Answers their ids. */
  notify(alert: AlertRecord, recipients: readonly string[], reason: string): number[] {
    const ids = this.deps.store.transaction(() =>
      recipients.flatMap((username) =>
        this.repo.subscriptionsOf(username).map((sub) =>
          this.repo.addDelivery({
            token: randomBytes(16).toString('base64url'),
            subscriptionId: sub.id,
            username,
            alertId: alert.id,
            severity: alert.severity,
            reason,
          }),
        ),
      ),
    );
    for (const id of ids) this.track(this.attempt(id));
    return ids;
  }

  /** An urgent care-team message left unread (no alert, no patient, no text): to each browser of each recipient. */
  notifyUrgentMessage(recipients: readonly string[], aboutPatient: boolean): number[] {
    const severity = aboutPatient ? URGENT_MESSAGE_SEVERITY.patient : URGENT_MESSAGE_SEVERITY.direct;
    return this.notify({ id: 0, severity } as AlertRecord, recipients, 'message_escalation');
  }

  /** A test notification to each of the user's browsers (from the console). Answers the delivery ids. */
  test(username: string): number[] {
    return this.notify({ id: 0, severity: TEST_SEVERITY } as AlertRecord, [username], 'test');
  }

  /** Sends the deliveries that are due (retries, and any a stopped hub left behind). */
  tick(): void {
    const now = this.now();
    for (const d of this.repo.due(now, now - STALE_SENDING_MS)) this.track(this.attempt(d.id));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async attempt(id: number): Promise<void> {
    const now = this.now();
    if (!this.repo.claim(id, now, now - STALE_SENDING_MS)) return;
    const d = this.repo.delivery(id)!;
    const sub = this.repo.subscription(d.subscriptionId);
    if (!sub) return this.fail(d, null, 'subscription removed');
    if (!endpointAllowed(sub.endpoint, this.deps.serviceHosts))
      return this.fail(d, null, 'push service not allowed (VITALGATE_PUSH_SERVICE_HOSTS)');
    const key = this.vapid.current();
    if (sub.vapidKeyId !== key.id) return this.fail(d, null, 'subscribed with a retired VAPID key');
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = (
        await this.send(
          { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
          JSON.stringify(payloadFor(d.severity, d.token)),
          {
            vapidDetails: {
              subject: this.deps.contact,
              publicKey: key.publicKey,
              privateKey: key.privateKey,
            },
            TTL: TTL_S,
            urgency:
              d.severity === 'critical' || d.severity === 'high' || d.reason === 'message_escalation'
                ? 'high'
                : 'normal',
            contentEncoding: 'aes128gcm',
            timeout: 10_000,
            ...(this.deps.agent ? { agent: this.deps.agent } : {}),
          },
        )
      ).statusCode;
    } catch (err) {
      const code = (err as { statusCode?: unknown }).statusCode;
      status = typeof code === 'number' ? code : null;
      // Only the status or the error's name: a push service's body or a URL could say too much.
      error =
        status === null
          ? `${(err as Error).name ?? 'Error'}: ${(err as NodeJS.ErrnoException).code ?? 'no answer'}`
          : `HTTP ${status}`;
    }
    if (status !== null && status >= 200 && status < 300) {
      this.repo.finish(d.id, 'sent', status, null);
      this.repo.markSuccess(sub.id);
      return;
    }
    if (status === 404 || status === 410) {
      // The browser unsubscribed or the subscription expired: it will not come back.
      this.deps.store.transaction(() => {
        this.repo.unsubscribe(sub.id);
        this.deps.store.audit.append({
          actor: 'system',
          action: 'push.subscription_gone',
          target: `user:${sub.username}`,
          outcome: 'success',
          details: { subscriptionId: sub.id, status },
        });
      });
      return this.fail(d, status, error);
    }
    const temporary = status === null || status === 429 || status >= 500;
    const delay = RETRY_DELAYS_S[d.attempts - 1];
    if (temporary && delay !== undefined) {
      this.repo.retryAt(d.id, this.now() + delay * 1000, status, error);
      return;
    }
    this.fail(d, status, error);
  }

  /** The delivery failed for good: recorded, audited and logged (no PHI: ids and the status only). */
  private fail(d: PushDeliveryRecord, status: number | null, error: string | null): void {
    this.deps.store.transaction(() => {
      this.repo.finish(d.id, 'failed', status, error);
      this.deps.store.audit.append({
        actor: 'system',
        action: 'push.delivery_failed',
        target: `user:${d.username}`,
        outcome: 'failure',
        details: { alertId: d.alertId, deliveryId: d.id, attempts: d.attempts, status, error },
      });
    });
    this.deps.logger?.warn(
      { deliveryId: d.id, alertId: d.alertId, attempts: d.attempts, status, error },
      'push notification not delivered',
    );
  }
}
