import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CommandSpec } from '../cli-kit.js';
import { init } from './init.js';
import { serve } from './start.js';

const BIN = fileURLToPath(new URL('../../bin/vitalgate.mjs', import.meta.url));
const DEMO_FLEET_DEVICES = '20';

/**
 * The README's first quick-start command: initialise the hub (idempotent), run it, and stream a
 * small simulated fleet of mixed devices into it until Ctrl-C.
 */
export const demo: CommandSpec = {
  name: 'demo',
  summary:
    'Quick start: initialise the hub, run it, and stream a fleet of 20 simulated devices until Ctrl-C.',
  usage: 'demo [--json]',
  options: {},
  details: [
    'The same as "vitalgate init", "vitalgate start" and, once it is ready, "vitalgate simulate --devices 20".',
  ],
  async run(args, io) {
    const code = await init.run(args, io);
    if (code) return code;
    if (!args.values.json) io.out('');
    return serve(args, io, () => {
      const fleet = spawn(process.execPath, [BIN, 'simulate', '--devices', DEMO_FLEET_DEVICES], {
        env: io.env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      return () =>
        new Promise<void>((resolve) => {
          if (fleet.exitCode !== null) return resolve();
          fleet.once('exit', () => resolve());
          fleet.kill('SIGINT');
        });
    });
  },
};
