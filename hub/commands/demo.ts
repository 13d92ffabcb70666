import { type CommandSpec } from '../cli-kit.js';
import { init } from './init.js';
import { start } from './start.js';

/**
 * The README's first quick-start command: initialise the hub (idempotent) and run it until
 * Ctrl-C, printing where devices and browsers connect.
 */
export const demo: CommandSpec = {
  name: 'demo',
  summary: 'Quick start: initialise the hub in the data dir (if needed) and run it until Ctrl-C.',
  usage: 'demo [--json]',
  options: {},
  details: ['The same as "vitalgate init" followed by "vitalgate start".'],
  async run(args, io) {
    const code = await init.run(args, io);
    if (code) return code;
    if (!args.values.json) io.out('');
    return start.run(args, io);
  },
};
