import { InfluxClient } from '../../core/influx.js';
import { CertificateAuthority } from '../../pki/authority.js';
import type { CheckReport } from '../checks/engine.js';
import { DeploymentChecks } from '../checks/service.js';
import { liveHubFromStateFile } from '../checks/live.js';
import { cliActor, type CommandSpec, type CliIo } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

const MARK = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', not_applicable: 'N/A ' } as const;

function printReport(report: CheckReport, io: CliIo): void {
  for (const r of report.results) {
    io.out(`${MARK[r.status]}  ${r.id}  ${r.title} [${r.severity}]`);
    if (r.status !== 'pass') {
      io.out(`      evidence: ${r.evidence}`);
      if (r.remediation) io.out(`      fix: ${r.remediation}`);
    }
  }
  const s = report.summary;
  io.out(`\n${s.pass} passed, ${s.warn} warnings, ${s.fail} failed, ${s.not_applicable} not applicable`);
}

export const check: CommandSpec = {
  name: 'check',
  summary: 'Run the deployment checks (OWASP SMDDS, HIPAA 164.312, Device Defender-style audits).',
  usage: 'check [--json]',
  options: {},
  details: [
    'Exit codes: 0 all pass (warnings allowed), 1 a high or critical check fails, 2 the checks could not run.',
  ],
  async run(args, io) {
    let ctx;
    try {
      ctx = openContext(readConfig(args, io.env));
    } catch (err) {
      io.err(`vitalgate check: could not run: ${(err as Error).message}`);
      return 2;
    }
    try {
      const authority = await CertificateAuthority.load({
        store: ctx.store,
        keyring: ctx.keyring,
        config: ctx.config,
      });
      const live = liveHubFromStateFile(ctx.config);
      const influxUrl = ctx.config.influxUrl ?? live?.influxUrl;
      const progress = io.isTTY && !args.values.json;
      const influx = influxUrl
        ? new InfluxClient({
            url: influxUrl,
            database: ctx.config.influxDb,
            username: ctx.config.influxUsername,
            password: ctx.config.influxPassword,
          })
        : undefined;
      const { config, store, keyring, masterKey } = ctx;
      const checks = new DeploymentChecks(() => ({
        config,
        store,
        keyring,
        masterKey,
        authority,
        now: Date.now(),
        live,
        influx,
      }));
      const report = await checks.run(
        cliActor(),
        progress
          ? (done, total, id) => process.stderr.write(`\rchecks ${done}/${total} ${id.padEnd(12)}`)
          : undefined,
      );
      if (progress) process.stderr.write('\r\x1b[K');
      if (args.values.json) io.json(report);
      else printReport(report, io);
      return report.failing ? 1 : 0;
    } finally {
      ctx.close();
    }
  },
};
