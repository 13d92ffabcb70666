import { CertificateAuthority } from '../../pki/authority.js';
import { DeviceLifecycle, type LifecycleAction } from '../../pki/lifecycle.js';
import { cliActor, requirePositional, requireString, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';
import { askRunningHub, hubIsRunning } from '../running-hub.js';

const SUMMARIES: Record<LifecycleAction, string> = {
  revoke: 'Revoke a device: its certificates go on the CRL and it can never connect again.',
  disable: 'Disable a device: it is refused until enabled again.',
  enable: 'Enable a disabled or quarantined device.',
  quarantine: 'Quarantine a device: it is refused and flagged for investigation.',
  wipe: 'Wipe a device: the running hub sends it a signed wipe, then marks it wiped and revokes its certificates.',
};

const DETAILS: Record<LifecycleAction, string[]> = {
  revoke: ['A running hub notices the change within a second and ends the device’s live session.'],
  disable: [
    'With a hub running, the hub carries it out: a connected device is sent a signed disable and',
    'its session ends once it acked (or after 5 s). With no hub running, the device is marked',
    'disabled in the store and is refused when it next connects.',
  ],
  enable: ['The device may connect again with its current certificate.'],
  quarantine: ['A running hub notices the change within a second and ends the device’s live session.'],
  wipe: [
    'Needs the running hub of the data dir: it sends the signed wipe to the connected device, waits',
    'for the ack (the device has erased its key, certificate and buffer) or the command’s expiry',
    '(60 s), then revokes. A device that is not connected is marked wiped and revoked at once',
    '(it erases nothing: the outcome says not_connected). With no hub running, nothing is changed:',
    'start the hub and wipe again, or cut the device off now with `vitalgate device revoke`.',
  ],
};

/** Wipe and disable reach the device through the running hub; the rest change the store. */
const THROUGH_HUB: ReadonlySet<LifecycleAction> = new Set(['wipe', 'disable']);

function lifecycleCommand(action: LifecycleAction): CommandSpec {
  return {
    name: `device ${action}`,
    summary: SUMMARIES[action],
    usage: `device ${action} ID --reason TEXT [--json]`,
    options: { reason: { type: 'string' } },
    details: [...DETAILS[action], 'The action and its reason are recorded in the audit log.'],
    async run(args, io) {
      const id = requirePositional(args, 0, 'device ID');
      const reason = requireString(args, 'reason');
      const config = readConfig(args, io.env);
      const ctx = openContext(config);
      try {
        let result: Record<string, unknown>;
        if (action === 'wipe' || (THROUGH_HUB.has(action) && hubIsRunning(config))) {
          ctx.store.devices.require(id);
          result = await askRunningHub(
            config,
            ctx.store,
            {
              kind: 'device.lifecycle',
              target: id,
              params: { action: action as 'wipe' | 'disable', reason },
              actor: cliActor(),
            },
            {
              whenStopped:
                'the signed wipe goes out through the running hub, so nothing was changed; start the hub and wipe again, or revoke the device now with "vitalgate device revoke"',
              maxWaitMs: 90_000,
            },
          );
        } else {
          const authority = await CertificateAuthority.load({
            store: ctx.store,
            keyring: ctx.keyring,
            config,
          });
          result = await new DeviceLifecycle(ctx.store, authority).apply(id, action, reason, cliActor());
        }
        if (args.values.json) io.json(result);
        else io.out(describe(id, result));
      } finally {
        ctx.close();
      }
    },
  };
}

function describe(id: string, result: Record<string, unknown>): string {
  const revoked = Array.isArray(result.revokedSerials) ? result.revokedSerials.length : 0;
  const told =
    typeof result.wipe === 'string'
      ? `; wipe command: ${result.wipe}`
      : typeof result.disableCommand === 'string'
        ? `; disable command: ${result.disableCommand}`
        : '';
  return `device ${id} is now ${String(result.status)}${revoked ? ` (revoked ${revoked} certificate(s))` : ''}${told}`;
}

export const deviceLifecycleCommands: CommandSpec[] = (
  ['revoke', 'disable', 'enable', 'quarantine', 'wipe'] as const
).map(lifecycleCommand);
