import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CommandSpec } from '../cli-kit.js';
import { init } from './init.js';
import { readConfig } from '../context.js';
import { setUpDemoCareTeam } from './demo-care-team.js';
import { setUpDemoClinician } from './demo-clinician.js';
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
    'Quick start: initialise the hub, run it, stream a fleet of 20 simulated devices and open the web console, until Ctrl-C.',
  usage: 'demo [--json]',
  options: {},
  details: [
    'The same as "vitalgate init", "vitalgate start" and, once it is ready, "vitalgate simulate --devices 20 --scenario mix"',
    '(every patient plays a clinical scenario, so alerts are raised in the first minute). It prints the web',
    "console's address and sets up a clinician (demo.nurse) assigned to three demo patients, with its one-time",
    'password printed once. It is on call for a demo care team whose critical alerts escalate after 1 and',
    '3 minutes, so the desaturation nobody acknowledges shows escalated in the console within minutes.',
  ],
  async run(args, io) {
    const code = await init.run(args, io);
    if (code) return code;
    if (!args.values.json) io.out('');
    const config = readConfig(args, io.env);
    return serve(args, io, (ready) => {
      if (ready.apiPort && !args.values.json) {
        io.out(
          `web console: https://${config.publicHost}:${ready.apiPort}/ (the hub's CA: ${config.dataDir}/ca.pem)`,
        );
      }
      // Each patient of the fleet plays a clinical scenario, so alerts are raised in the first minute.
      const fleet = spawn(
        process.execPath,
        [BIN, 'simulate', '--devices', DEMO_FLEET_DEVICES, '--scenario', 'mix'],
        { env: io.env, stdio: ['ignore', 'inherit', 'inherit'] },
      );
      const setup = new AbortController();
      void setUpDemoClinician(config, io, setup.signal, Boolean(args.values.json))
        .then(() => {
          // The team, its rota and a short critical ladder: the unanswered desaturation escalates in minutes.
          if (!setup.signal.aborted) setUpDemoCareTeam(config, io, Boolean(args.values.json));
        })
        .catch((err: unknown) =>
          io.err(
            `demo: the demo clinician was not set up: ${err instanceof Error ? err.message : String(err)}`,
          ),
        );
      return () =>
        new Promise<void>((resolve) => {
          setup.abort();
          if (fleet.exitCode !== null) return resolve();
          fleet.once('exit', () => resolve());
          fleet.kill('SIGINT');
        });
    });
  },
};
