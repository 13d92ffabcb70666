// Web Push state of the control plane: the hub's VAPID key pairs (private keys sealed by the
// caller under the master key), the browsers staff allowed to receive notifications, and each
// notification sent to one of them with its delivery state. A delivery changes state with
// conditional updates, so a notification is sent by one ticker at a time and never twice.
import type { Db } from './database.js';

export interface VapidKeyRecord {
  id: number;
  publicKey: string;
  sealedPrivateKey: Buffer;
  createdAt: number;
}

export interface PushSubscriptionRecord {
  id: number;
  username: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  label: string;
  vapidKeyId: number;
  createdAt: number;
  lastSuccessAt: number | null;
}

export type DeliveryState = 'pending' | 'sending' | 'sent' | 'failed';

export interface PushDeliveryRecord {
  id: number;
  token: string;
  subscriptionId: number;
  username: string;
  alertId: number;
  severity: string;
  reason: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  doneAt: number | null;
}

const subscriptionFrom = (r: Record<string, unknown>): PushSubscriptionRecord => ({
  id: Number(r.id),
  username: String(r.username),
  endpoint: String(r.endpoint),
  p256dh: String(r.p256dh),
  auth: String(r.auth),
  label: String(r.label),
  vapidKeyId: Number(r.vapid_key_id),
  createdAt: Number(r.created_at),
  lastSuccessAt: r.last_success_at === null ? null : Number(r.last_success_at),
});

const deliveryFrom = (r: Record<string, unknown>): PushDeliveryRecord => ({
  id: Number(r.id),
  token: String(r.token),
  subscriptionId: Number(r.subscription_id),
  username: String(r.username),
  alertId: Number(r.alert_id),
  severity: String(r.severity),
  reason: String(r.reason),
  state: r.state as DeliveryState,
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  lastStatus: r.last_status === null ? null : Number(r.last_status),
  lastError: r.last_error === null ? null : String(r.last_error),
  createdAt: Number(r.created_at),
  doneAt: r.done_at === null ? null : Number(r.done_at),
});

export class PushRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  private one<T>(map: (r: Record<string, unknown>) => T, sql: string, arg: unknown): T | undefined {
    const r = this.db.prepare(sql).get(arg) as Record<string, unknown> | undefined;
    return r ? map(r) : undefined;
  }

  private all<T>(map: (r: Record<string, unknown>) => T, sql: string, ...args: unknown[]): T[] {
    return (this.db.prepare(sql).all(...args) as Record<string, unknown>[]).map(map);
  }

  // VAPID keys

  currentVapidKey(): VapidKeyRecord | undefined {
    const r = this.db.prepare('SELECT * FROM vapid_keys ORDER BY id DESC LIMIT 1').get() as
      { id: number; public_key: string; sealed_private_key: Buffer; created_at: number } | undefined;
    return (
      r && {
        id: r.id,
        publicKey: r.public_key,
        sealedPrivateKey: r.sealed_private_key,
        createdAt: r.created_at,
      }
    );
  }

  addVapidKey(publicKey: string, sealedPrivateKey: Buffer): number {
    return Number(
      this.db
        .prepare('INSERT INTO vapid_keys (public_key, sealed_private_key, created_at) VALUES (?, ?, ?)')
        .run(publicKey, sealedPrivateKey, this.now()).lastInsertRowid,
    );
  }

  // Subscriptions

  /** Stores a browser's subscription; the same endpoint subscribed again is updated (its user may change). */
  subscribe(s: Omit<PushSubscriptionRecord, 'id' | 'createdAt' | 'lastSuccessAt'>): PushSubscriptionRecord {
    this.db
      .prepare(
        `INSERT INTO push_subscriptions (username, endpoint, p256dh, auth, label, vapid_key_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (endpoint) DO UPDATE SET username = excluded.username, p256dh = excluded.p256dh,
           auth = excluded.auth, label = excluded.label, vapid_key_id = excluded.vapid_key_id,
           created_at = excluded.created_at, last_success_at = NULL`,
      )
      .run(s.username, s.endpoint, s.p256dh, s.auth, s.label, s.vapidKeyId, this.now());
    return this.subscriptionByEndpoint(s.endpoint)!;
  }

  subscriptionByEndpoint(endpoint: string): PushSubscriptionRecord | undefined {
    return this.one(subscriptionFrom, 'SELECT * FROM push_subscriptions WHERE endpoint = ?', endpoint);
  }

  subscription(id: number): PushSubscriptionRecord | undefined {
    return this.one(subscriptionFrom, 'SELECT * FROM push_subscriptions WHERE id = ?', id);
  }

  subscriptionsOf(username: string): PushSubscriptionRecord[] {
    return this.all(
      subscriptionFrom,
      'SELECT * FROM push_subscriptions WHERE username = ? ORDER BY id',
      username,
    );
  }

  allSubscriptions(): PushSubscriptionRecord[] {
    return this.all(subscriptionFrom, 'SELECT * FROM push_subscriptions ORDER BY id');
  }

  /** Removes a subscription (of `username` when given); answers whether one was removed. */
  unsubscribe(id: number, username?: string): boolean {
    const sql =
      username === undefined
        ? 'DELETE FROM push_subscriptions WHERE id = ?'
        : 'DELETE FROM push_subscriptions WHERE id = ? AND username = ?';
    return this.db.prepare(sql).run(...(username === undefined ? [id] : [id, username])).changes > 0;
  }

  /** Removes every subscription (the VAPID key changed: browsers subscribe again). */
  unsubscribeAll(): number {
    return this.db.prepare('DELETE FROM push_subscriptions').run().changes;
  }

  // Deliveries

  addDelivery(d: {
    token: string;
    subscriptionId: number;
    username: string;
    alertId: number;
    severity: string;
    reason: string;
  }): number {
    const now = this.now();
    return Number(
      this.db
        .prepare(
          `INSERT INTO push_deliveries (token, subscription_id, username, alert_id, severity, reason, state, next_attempt_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
        )
        .run(d.token, d.subscriptionId, d.username, d.alertId, d.severity, d.reason, now, now)
        .lastInsertRowid,
    );
  }

  delivery(id: number): PushDeliveryRecord | undefined {
    return this.one(deliveryFrom, 'SELECT * FROM push_deliveries WHERE id = ?', id);
  }

  deliveryByToken(token: string): PushDeliveryRecord | undefined {
    return this.one(deliveryFrom, 'SELECT * FROM push_deliveries WHERE token = ?', token);
  }

  deliveriesOf(alertId: number): PushDeliveryRecord[] {
    return this.all(deliveryFrom, 'SELECT * FROM push_deliveries WHERE alert_id = ? ORDER BY id', alertId);
  }

  /** Deliveries whose (next) attempt is due, and those left `sending` by a hub that stopped mid-send. */
  due(now: number, staleSendingBefore: number): PushDeliveryRecord[] {
    return this.all(
      deliveryFrom,
      `SELECT * FROM push_deliveries WHERE (state = 'pending' AND next_attempt_at <= ?)
         OR (state = 'sending' AND next_attempt_at <= ?) ORDER BY id LIMIT 500`,
      now,
      staleSendingBefore,
    );
  }

  /** pending (or stale sending) → sending, once: false when another ticker has it. */
  claim(id: number, now: number, staleSendingBefore: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE push_deliveries SET state = 'sending', attempts = attempts + 1, next_attempt_at = ?
           WHERE id = ? AND ((state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND next_attempt_at <= ?))`,
        )
        .run(now, id, now, staleSendingBefore).changes > 0
    );
  }

  finish(id: number, state: 'sent' | 'failed', status: number | null, error: string | null): void {
    this.db
      .prepare(
        "UPDATE push_deliveries SET state = ?, last_status = ?, last_error = ?, done_at = ? WHERE id = ? AND state = 'sending'",
      )
      .run(state, status, error, this.now(), id);
  }

  retryAt(id: number, at: number, status: number | null, error: string | null): void {
    this.db
      .prepare(
        "UPDATE push_deliveries SET state = 'pending', next_attempt_at = ?, last_status = ?, last_error = ? WHERE id = ? AND state = 'sending'",
      )
      .run(at, status, error, id);
  }

  markSuccess(subscriptionId: number): void {
    this.db
      .prepare('UPDATE push_subscriptions SET last_success_at = ? WHERE id = ?')
      .run(this.now(), subscriptionId);
  }
}
