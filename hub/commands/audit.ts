import { type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

export const auditVerify: CommandSpec = {
  name: 'audit verify',
  summary: 'Verify the audit log hash chain. Exits 1 on a break, naming the first bad entry.',
  usage: 'audit verify [--json]',
  options: {},
  async run(args, io) {
    const ctx = openContext(readConfig(args, io.env));
    try {
      const result = ctx.store.audit.verify();
      if (args.values.json) io.json(result);
      else if (result.ok) io.out(`audit chain intact: ${result.checked} entries verified`);
      else
        io.err(
          `audit chain broken at entry ${result.firstBad!.seq} (${result.firstBad!.problem.replace('_', ' ')}); ${result.checked} entries before it verified`,
        );
      return result.ok ? 0 : 1;
    } finally {
      ctx.close();
    }
  },
};
