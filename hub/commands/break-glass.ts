import { VitalGateError } from '../../core/errors.js';
import { BreakGlassGrantRepository } from '../../core/store/break-glass-grants.js';
import { cliActor, requirePositional, requireString, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

export const BREAK_GLASS_REVIEW = 'break_glass.review';

export const breakGlassReview: CommandSpec = {
  name: 'break-glass review',
  summary: 'Record that an auditor reviewed a break-glass grant (check VG-API-005 reads it).',
  usage: 'break-glass review GRANT_ID --note TEXT [--json]',
  options: { note: { type: 'string' } },
  async run(args, io) {
    const id = Number(requirePositional(args, 0, 'GRANT_ID'));
    if (!Number.isSafeInteger(id) || id <= 0)
      throw new VitalGateError('USAGE', 'GRANT_ID must be a grant number');
    const note = requireString(args, 'note');
    const ctx = openContext(readConfig(args, io.env));
    try {
      const grant = new BreakGlassGrantRepository(ctx.store.db)
        .list({ limit: 1000 })
        .find((g) => g.id === id);
      if (!grant) throw new VitalGateError('NOT_FOUND', `no break-glass grant ${id}`);
      ctx.store.audit.append({
        actor: cliActor(),
        action: BREAK_GLASS_REVIEW,
        target: `break-glass:${id}`,
        outcome: 'success',
        details: { note, username: grant.username },
      });
      if (args.values.json) io.json({ id, reviewed: true });
      else io.out(`break-glass grant ${id} (${grant.username}) marked reviewed`);
    } finally {
      ctx.close();
    }
  },
};
