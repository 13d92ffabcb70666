import { CertificateAuthority } from '../../pki/authority.js';
import { DeviceLifecycle, type LifecycleAction } from '../../pki/lifecycle.js';
import { cliActor, requirePositional, requireString, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

const SUMMARIES: Record<LifecycleAction, string> = {
  revoke: 'Revoke a device: its certificates go on the CRL and it can never connect again.',
  disable: 'Disable a device: it is refused until enabled again.',
  enable: 'Enable a disabled or quarantined device.',
  quarantine: 'Quarantine a device: it is refused and flagged for investigation.',
  wipe: 'Wipe a device: mark it wiped and revoke its certificates (the hub sends the signed wipe command).',
};

function lifecycleCommand(action: LifecycleAction): CommandSpec {
  return {
    name: `device ${action}`,
    summary: SUMMARIES[action],
    usage: `device ${action} ID --reason TEXT [--json]`,
    options: { reason: { type: 'string' } },
    details: [
      'A running hub notices the change within a second and ends the device’s live session.',
      'The action and its reason are recorded in the audit log.',
    ],
    async run(args, io) {
      const id = requirePositional(args, 0, 'device ID');
      const reason = requireString(args, 'reason');
      const config = readConfig(args, io.env);
      const ctx = openContext(config);
      try {
        const authority = await CertificateAuthority.load({ store: ctx.store, keyring: ctx.keyring, config });
        const result = await new DeviceLifecycle(ctx.store, authority).apply(id, action, reason, cliActor());
        if (args.values.json) io.json(result);
        else
          io.out(
            `device ${id} is now ${result.status}${result.revokedSerials.length ? ` (revoked ${result.revokedSerials.length} certificate(s))` : ''}`,
          );
      } finally {
        ctx.close();
      }
    },
  };
}

export const deviceLifecycleCommands: CommandSpec[] = (
  ['revoke', 'disable', 'enable', 'quarantine', 'wipe'] as const
).map(lifecycleCommand);
