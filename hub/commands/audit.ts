import { type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

export const auditVerify: CommandSpec = {
  name: 'audit verify',
  summary:
    'Verify the audit log hash chain from its retention anchor, and report entries pruned by policy. Exits 1 on a break, naming the first bad entry.',
  usage: 'audit verify [--json]',
  options: {},
  async run(args, io) {
    const ctx = openContext(readConfig(args, io.env));
    try {
      const result = ctx.store.audit.verify();
      // Entries removed by the retention policy are reported, never as a break.
      const pruned = result.pruned
        ? `; entries 1-${result.pruned.throughSeq} (${result.pruned.entries}) pruned by the retention policy, last on ${result.pruned.at} (older than ${result.pruned.before})`
        : '';
      if (args.values.json) io.json(result);
      else if (result.ok) io.out(`audit chain intact: ${result.checked} entries verified${pruned}`);
      else
        io.err(
          `audit chain broken at entry ${result.firstBad!.seq} (${result.firstBad!.problem.replaceAll('_', ' ')}); ${result.checked} entries before it verified${pruned}`,
        );
      return result.ok ? 0 : 1;
    } finally {
      ctx.close();
    }
  },
};
