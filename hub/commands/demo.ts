import { type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';
import { init } from './init.js';

/**
 * The README's first quick-start command: initialise the hub (idempotent) and show its state.
 * It grows into "start the hub with a simulated fleet" as the broker, ingest and simulators land.
 */
export const demo: CommandSpec = {
  name: 'demo',
  summary: 'Quick start: initialise the hub in the data dir (if needed) and show its status.',
  usage: 'demo [--json]',
  options: {},
  async run(args, io) {
    const code = await init.run(args, io);
    if (code) return code;
    const ctx = openContext(readConfig(args, io.env));
    try {
      const devices = ctx.store.devices.list();
      const audit = ctx.store.audit.verify();
      const status = {
        dataDir: ctx.config.dataDir,
        devices: devices.length,
        users: ctx.store.users.count(),
        auditChain: audit.ok ? `intact (${audit.checked} entries)` : `BROKEN at entry ${audit.firstBad?.seq}`,
        mqtt: `mqtts://${ctx.config.publicHost}:${ctx.config.mqttPort}`,
        api: `https://${ctx.config.publicHost}:${ctx.config.apiPort}`,
      };
      if (args.values.json) io.json(status);
      else {
        io.out('');
        io.out('VitalGate status');
        for (const [k, v] of Object.entries(status)) io.out(`  ${k.padEnd(12)} ${v}`);
        io.out('');
        io.out('Next: vitalgate device add --id wear-1 --kind wearable, then vitalgate device token wear-1');
      }
      return 0;
    } finally {
      ctx.close();
    }
  },
};
