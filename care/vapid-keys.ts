// The hub's VAPID key pair (RFC 8292): push services accept a notification only when it is
// signed with the key the browser subscribed with. The pair is made on first use and kept in the
// control plane, the private half sealed under the master key. Rotating it makes a new pair and
// drops every subscription (they are bound to the old public key): browsers subscribe again the
// next time their user opens the console.
import webpush from 'web-push';
import type { ControlPlane } from '../core/store/control-plane.js';
import type { Keyring } from '../core/keyring.js';
import { PushRepository } from '../core/store/push.js';

export interface VapidKey {
  id: number;
  /** Uncompressed P-256 point, base64url: the browser's applicationServerKey. */
  publicKey: string;
  privateKey: string;
  createdAt: number;
}

const purpose = (publicKey: string) => `vapid:${publicKey}`;

export class VapidKeys {
  private readonly repo: PushRepository;

  constructor(
    private readonly store: ControlPlane,
    private readonly keyring: Keyring,
    now: () => number = Date.now,
  ) {
    this.repo = new PushRepository(store.db, now);
  }

  /** The key in use; made (and audited) when the hub has none yet. */
  current(): VapidKey {
    const stored = this.repo.currentVapidKey();
    if (!stored) return this.create('system', 'push.vapid_create', {});
    return {
      id: stored.id,
      publicKey: stored.publicKey,
      privateKey: this.keyring
        .openSecret(purpose(stored.publicKey), stored.sealedPrivateKey)
        .toString('utf8'),
      createdAt: stored.createdAt,
    };
  }

  /** When the key in use was made (undefined: none yet), without opening it. */
  createdAt(): number | undefined {
    return this.repo.currentVapidKey()?.createdAt;
  }

  /** A new key pair; every subscription is dropped (bound to the old key). Audited. */
  rotate(actor: string): VapidKey & { subscriptionsDropped: number } {
    let dropped = 0;
    const key = this.store.transaction(() => {
      dropped = this.repo.unsubscribeAll();
      return this.create(actor, 'push.vapid_rotate', { subscriptionsDropped: dropped });
    });
    return { ...key, subscriptionsDropped: dropped };
  }

  private create(actor: string, action: string, details: Record<string, unknown>): VapidKey {
    const pair = webpush.generateVAPIDKeys();
    const sealed = this.keyring.sealSecret(purpose(pair.publicKey), Buffer.from(pair.privateKey, 'utf8'));
    return this.store.transaction(() => {
      const id = this.repo.addVapidKey(pair.publicKey, sealed);
      this.store.audit.append({
        actor,
        action,
        target: 'push',
        outcome: 'success',
        details: { keyId: id, ...details },
      });
      return { id, ...pair, createdAt: this.repo.currentVapidKey()!.createdAt };
    });
  }
}
