// Runs deployment checks and keeps their reports with history, so an operator sees when
// something regressed.
import { describeError } from '../../core/errors.js';
import type { CheckContext, CheckStatus, DeploymentCheck, Severity } from './check.js';

export interface CheckResult {
  id: string;
  title: string;
  severity: Severity;
  status: CheckStatus;
  evidence: string;
  remediation?: string | undefined;
  references: DeploymentCheck['references'];
  durationMs: number;
}

export interface CheckReport {
  startedAt: string;
  finishedAt: string;
  summary: Record<CheckStatus, number>;
  /** True when a high or critical check failed: `vitalgate check` exits 1. */
  failing: boolean;
  results: CheckResult[];
}

export async function runChecks(
  checks: readonly DeploymentCheck[],
  ctx: CheckContext,
  onProgress?: (done: number, total: number, id: string) => void,
): Promise<CheckReport> {
  const startedAt = new Date().toISOString();
  const results: CheckResult[] = [];
  for (const [i, check] of checks.entries()) {
    const t0 = performance.now();
    let outcome;
    try {
      outcome = await check.run(ctx);
    } catch (err) {
      outcome = {
        status: 'warn' as const,
        evidence: `check could not run: ${describeError(err)}`,
        remediation: 'See the hub log.',
      };
    }
    results.push({
      id: check.id,
      title: check.title,
      severity: check.severity,
      status: outcome.status,
      evidence: outcome.evidence,
      remediation: outcome.remediation,
      references: check.references,
      durationMs: Math.round(performance.now() - t0),
    });
    onProgress?.(i + 1, checks.length, check.id);
  }
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, not_applicable: 0 };
  for (const r of results) summary[r.status] += 1;
  const failing = results.some(
    (r) => r.status === 'fail' && (r.severity === 'high' || r.severity === 'critical'),
  );
  return { startedAt, finishedAt: new Date().toISOString(), summary, failing, results };
}
