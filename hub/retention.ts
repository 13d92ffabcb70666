// The running hub enforces retention: once at start (before it reports ready) and every hour
// after, it deletes what is older than each `VITALGATE_*_RETENTION_DAYS` setting
// (core/store/retention.ts) and audits the counts. Settings below their policy floor are
// flagged at start; check VG-AUD-002 keeps flagging them.
import { envName, type HubConfig } from '../core/config.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { pruneExpired, retentionBelowPolicy, type RetentionCounts } from '../core/store/retention.js';

/** Meta key holding when retention last ran (ISO time); check VG-AUD-005 reads it. */
export const RETENTION_LAST_RUN_KEY = 'retention_last_run_at';
export const RETENTION_INTERVAL_MS = 3_600_000;

/** Deletes every expired row and audits what went (counts only). */
export function enforceRetention(
  store: ControlPlane,
  config: HubConfig,
  now: number = Date.now(),
  actor = 'system',
): RetentionCounts {
  const counts = pruneExpired(store, config, now, actor);
  store.meta.set(RETENTION_LAST_RUN_KEY, new Date(now).toISOString());
  if (Object.values(counts).some((n) => n > 0)) {
    store.audit.append({ actor, action: 'retention.prune', outcome: 'success', details: { ...counts } });
  }
  return counts;
}

/** Flags settings below policy, enforces retention now, then every hour. Returns the timer. */
export function startRetention(store: ControlPlane, config: HubConfig, logger: Logger): NodeJS.Timeout {
  for (const { rule, days } of retentionBelowPolicy(config)) {
    logger.warn(
      { setting: envName(rule.setting), days, floorDays: rule.floorDays },
      `retention below policy: ${envName(rule.setting)} keeps ${days} days, policy is ${rule.floorDays} (${rule.basis})`,
    );
  }
  const run = () => {
    try {
      const counts = enforceRetention(store, config);
      logger.info({ ...counts }, 'retention enforced');
    } catch (err) {
      logger.error({ err: describeError(err) }, 'retention failed');
    }
  };
  run();
  const timer = setInterval(run, RETENTION_INTERVAL_MS);
  timer.unref();
  return timer;
}
