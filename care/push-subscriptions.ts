// The browsers a staff member allowed to receive notifications. A subscription is what the
// browser's PushManager gives (endpoint, p256dh, auth): its endpoint must be https on one of the
// push services the hub is set to reach (VITALGATE_PUSH_SERVICE_HOSTS), so a
// subscription cannot make the hub send requests anywhere else. The endpoint is a capability
// URL: it is never logged or audited, only the subscription's id and label.
import { VitalGateError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { PushRepository, type PushSubscriptionRecord } from '../core/store/push.js';
import { VapidKeys } from './vapid-keys.js';

export const MAX_SUBSCRIPTIONS_PER_USER = 10;

/** Whether a push endpoint is https on one of `hosts` (or a subdomain of one). */
export function endpointAllowed(endpoint: string, hosts: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password) return false;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return hosts.some((h) => host === h.toLowerCase() || host.endsWith(`.${h.toLowerCase()}`));
}

const invalid = (field: string, message: string) =>
  new VitalGateError('PUSH_SUBSCRIPTION_INVALID', message, { field });

function base64urlBytes(value: string, field: string, length: number, first?: number): void {
  const bytes = /^[A-Za-z0-9_-]+={0,2}$/.test(value) ? Buffer.from(value, 'base64url') : Buffer.alloc(0);
  if (bytes.length !== length || (first !== undefined && bytes[0] !== first))
    throw invalid(field, `${field}: expected the browser's ${length}-byte key, base64url`);
}

export interface SubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  label?: string | undefined;
}

export class PushSubscriptions {
  readonly repo: PushRepository;
  readonly vapid: VapidKeys;

  constructor(
    private readonly store: ControlPlane,
    keyring: Keyring,
    private readonly serviceHosts: readonly string[],
    now: () => number = Date.now,
  ) {
    this.repo = new PushRepository(store.db, now);
    this.vapid = new VapidKeys(store, keyring, now);
  }

  /** Stores the browser's subscription for `username` (bound to the VAPID key in use). Audited. */
  subscribe(username: string, input: SubscriptionInput, source?: string): PushSubscriptionRecord {
    if (!endpointAllowed(input.endpoint, this.serviceHosts))
      throw invalid('endpoint', 'endpoint: not an https address of a push service this hub is set to reach');
    base64urlBytes(input.keys.p256dh, 'keys.p256dh', 65, 0x04);
    base64urlBytes(input.keys.auth, 'keys.auth', 16);
    const label = (input.label ?? '').trim().slice(0, 80) || 'browser';
    const existing = this.repo.subscriptionByEndpoint(input.endpoint);
    if (
      existing?.username !== username &&
      this.repo.subscriptionsOf(username).length >= MAX_SUBSCRIPTIONS_PER_USER
    )
      throw invalid('endpoint', `at most ${MAX_SUBSCRIPTIONS_PER_USER} browsers per user; remove one first`);
    const key = this.vapid.current();
    return this.store.transaction(() => {
      const sub = this.repo.subscribe({
        username,
        ...input.keys,
        endpoint: input.endpoint,
        label,
        vapidKeyId: key.id,
      });
      this.store.audit.append({
        actor: `user:${username}`,
        action: 'push.subscribe',
        target: `user:${username}`,
        outcome: 'success',
        source,
        details: { subscriptionId: sub.id, label },
      });
      return sub;
    });
  }

  list(username: string): PushSubscriptionRecord[] {
    return this.repo.subscriptionsOf(username);
  }

  /** Removes one of the user's browsers. Audited; PUSH_SUBSCRIPTION_NOT_FOUND for anyone else's. */
  unsubscribe(username: string, id: number, source?: string): void {
    this.store.transaction(() => {
      if (!this.repo.unsubscribe(id, username))
        throw new VitalGateError('PUSH_SUBSCRIPTION_NOT_FOUND', 'no such push subscription of yours');
      this.store.audit.append({
        actor: `user:${username}`,
        action: 'push.unsubscribe',
        target: `user:${username}`,
        outcome: 'success',
        source,
        details: { subscriptionId: id },
      });
    });
  }
}
