// Web Push from the CLI: the hub's VAPID key (its public half, its age, how many browsers are
// subscribed with it) and its rotation. Rotating drops every subscription: each browser
// subscribes again the next time its clinician opens the console's Notifications page.
import { VapidKeys } from '../../care/vapid-keys.js';
import { PushRepository } from '../../core/store/push.js';
import { cliActor, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

const DAY = 86_400_000;

export const pushKeys: CommandSpec = {
  name: 'push keys',
  summary: 'Show the hub’s VAPID key for Web Push (its age, the browsers subscribed), or rotate it.',
  usage: 'push keys [--rotate] [--json]',
  options: { rotate: { type: 'boolean' } },
  details: [
    'The key is made on first use and kept in the control plane, its private half sealed under the',
    'master key. --rotate makes a new one (VG-CARE-005 fails past VITALGATE_VAPID_KEY_MAX_AGE_DAYS);',
    'every browser subscription is dropped and each clinician enables notifications again. Audited.',
  ],
  async run(args, io) {
    const config = readConfig(args, io.env);
    const ctx = openContext(config);
    try {
      const keys = new VapidKeys(ctx.store, ctx.keyring);
      const rotated = args.values.rotate ? keys.rotate(cliActor()) : undefined;
      const key = rotated ?? keys.current();
      const subscriptions = new PushRepository(ctx.store.db).allSubscriptions().length;
      const ageDays = Math.floor((Date.now() - key.createdAt) / DAY);
      const view = {
        publicKey: key.publicKey,
        createdAt: new Date(key.createdAt).toISOString(),
        ageDays,
        maxAgeDays: config.vapidKeyMaxAgeDays,
        subscriptions,
        ...(rotated ? { subscriptionsDropped: rotated.subscriptionsDropped } : {}),
      };
      if (args.values.json) {
        io.json(view);
        return;
      }
      if (rotated) io.out(`new VAPID key; ${rotated.subscriptionsDropped} browser subscription(s) dropped`);
      io.out(`public key   ${view.publicKey}`);
      io.out(`created      ${view.createdAt} (${ageDays} of at most ${config.vapidKeyMaxAgeDays} days)`);
      io.out(`browsers     ${subscriptions}`);
    } finally {
      ctx.close();
    }
  },
};
