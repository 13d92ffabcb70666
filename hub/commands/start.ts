import { describeError } from '../../core/errors.js';
import { type CliIo, type CommandSpec, type ParsedArgs } from '../cli-kit.js';
import { readConfig } from '../context.js';
import { Hub, type HubReady } from '../main.js';
import { HUB_PLUGINS } from '../plugins.js';

export const start: CommandSpec = {
  name: 'start',
  summary: 'Run the hub: MQTT broker (mutual TLS), ingest, HTTPS API and the managed InfluxDB.',
  usage: 'start [--json]',
  options: {},
  details: [
    'Prints one line once ready (with --json: {"ready":true,"mqttPort","apiPort","influxUrl"}).',
    'Stops gracefully on SIGTERM or SIGINT. Port 0 in VITALGATE_MQTT_PORT/API_PORT means any free port.',
    "One hub per data dir: it locks <data dir>/hub.lock first; a second start on the same data dir fails at once naming the running hub's pid. Other commands keep working beside it.",
    'While it runs it carries out what the CLI asks of it (device wipe, disable, ping, config; patient erase) and sends rotate-cert to devices inside VITALGATE_DEVICE_RENEWAL_WINDOW_DAYS.',
  ],
  run: (args, io) => serve(args, io),
};

/**
 * Runs the hub until SIGTERM/SIGINT. `onReady` may start companions (the demo's fleet) and
 * returns how to stop them; they are stopped before the hub.
 */
export async function serve(
  args: ParsedArgs,
  io: CliIo,
  onReady?: (ready: HubReady) => (() => Promise<void> | void) | void,
): Promise<number> {
  {
    const config = readConfig(args, io.env);
    const hub = new Hub(config, HUB_PLUGINS);
    const ready = await hub.start();
    if (args.values.json) io.json(ready);
    else
      io.out(
        `VitalGate ready: mqtts://${config.publicHost}:${ready.mqttPort}` +
          (ready.apiPort ? `, https://${config.publicHost}:${ready.apiPort}` : '') +
          ` (InfluxDB ${ready.influxUrl})`,
      );
    const stopCompanions = onReady?.(ready);
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        if (!args.values.json) io.err(`${signal}: stopping`);
        Promise.resolve(stopCompanions?.())
          .then(() => hub.stop())
          .then(resolve, (err: unknown) => {
            io.err(`vitalgate start: error while stopping: ${describeError(err)}`);
            resolve();
          });
      };
      const onInt = () => shutdown('SIGINT');
      const onTerm = () => shutdown('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    return 0;
  }
}
