// Running the deployment checks and keeping the result: used by the hub's schedule, by the API
// (`GET /checks`, `POST /checks/run`) and by `vitalgate check`. Every run is stored with history
// and audited; a failing critical check raises a security event.
import { ALL_CHECKS } from './catalogue.js';
import type { CheckContext } from './check.js';
import { runChecks, type CheckReport } from './engine.js';

export class DeploymentChecks {
  constructor(private readonly context: () => CheckContext) {}

  async run(
    actor: string,
    onProgress?: (done: number, total: number, id: string) => void,
  ): Promise<CheckReport> {
    const ctx = this.context();
    const report = await runChecks(ALL_CHECKS, ctx, onProgress);
    ctx.store.checkRuns.add({
      startedAt: Date.parse(report.startedAt),
      finishedAt: Date.parse(report.finishedAt),
      failing: report.failing,
      report,
    });
    ctx.store.audit.append({
      actor,
      action: 'checks.run',
      outcome: 'success',
      details: { ...report.summary, failing: report.failing },
    });
    for (const r of report.results.filter((x) => x.status === 'fail' && x.severity === 'critical')) {
      ctx.store.securityEvents.add({
        kind: 'critical_check_failed',
        severity: 'critical',
        details: { check: r.id },
      });
    }
    return report;
  }

  latest(): CheckReport | null {
    return this.context().store.checkRuns.latest<CheckReport>(1)[0]?.report ?? null;
  }
}
