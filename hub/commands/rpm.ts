// `vitalgate rpm close --month YYYY-MM`: the monthly RPM close from the host (a cron job on the
// first days of a month), the same close as `POST /api/v1/rpm/months/{month}/close`: every
// enrolled patient's statement, from the days of data in InfluxDB, sealed into the audit chain.
// It needs InfluxDB: VITALGATE_INFLUX_URL, or the running hub's managed one.
import { VitalGateError } from '../../core/errors.js';
import { InfluxClient } from '../../core/influx.js';
import { createRpmProgramme } from '../../rpm/programme.js';
import { InfluxSensedDays } from '../../rpm/sensed-days-source.js';
import { liveHubFromStateFile } from '../checks/live.js';
import { cliActor, requireString, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

export const rpmClose: CommandSpec = {
  name: 'rpm close',
  summary:
    'Close a month of the RPM programme once it is over in the site’s time zone: every enrolled patient’s statement, sealed into the audit chain (docs/RPM.md).',
  usage: 'rpm close --month YYYY-MM [--json]',
  options: { month: { type: 'string' } },
  async run(args, io) {
    const month = requireString(args, 'month');
    const ctx = openContext(readConfig(args, io.env));
    try {
      const influxUrl = ctx.config.influxUrl ?? liveHubFromStateFile(ctx.config)?.influxUrl;
      if (!influxUrl)
        throw new VitalGateError(
          'INFLUX_UNAVAILABLE',
          'no InfluxDB to count days from: set VITALGATE_INFLUX_URL or start the hub',
        );
      const influx = new InfluxClient({
        url: influxUrl,
        database: ctx.config.influxDb,
        username: ctx.config.influxUsername,
        password: ctx.config.influxPassword,
      });
      const rpm = createRpmProgramme({
        store: ctx.store,
        keyring: ctx.keyring,
        timeZone: ctx.config.rpmTimeZone,
        days: new InfluxSensedDays(influx, ctx.keyring),
        telemetry: {},
        now: Date.now,
      });
      const closed = await rpm.ledger.close(month, cliActor());
      const result = {
        month: closed.month,
        statements: closed.statements,
        closedAt: new Date(closed.closedAt).toISOString(),
      };
      if (args.values.json) io.json(result);
      else io.out(`${month} closed: ${closed.statements} statement(s) sealed into the audit chain`);
    } finally {
      ctx.close();
    }
  },
};
