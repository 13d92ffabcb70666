// VG-DATA-009: an untested backup is not a backup. Passes while a restore drill
// (`vitalgate backup drill`) passed within VITALGATE_BACKUP_DRILL_DAYS.
import { DRILL_LAST_KEY, DRILL_PASSED_KEY } from '../backup/drill.js';
import { fail, pass, type DeploymentCheck } from './check.js';

const DAY = 86_400_000;

export const restoreDrillPassed: DeploymentCheck = {
  id: 'VG-DATA-009',
  title: 'A restore drill passed recently',
  severity: 'medium',
  verifies:
    'A restore drill of the latest whole-hub backup (restored into a temp dir and compared with the live hub) passed within VITALGATE_BACKUP_DRILL_DAYS.',
  how: 'Reads when `vitalgate backup drill` last passed, and the outcome of the last drill.',
  references: {
    owasp: 'Incident response',
    hipaa: '164.312(c)(1) Integrity',
  },
  run({ store, config, now }) {
    const passed = store.meta.get(DRILL_PASSED_KEY);
    const last = parseLast(store.meta.get(DRILL_LAST_KEY));
    const lastNote = last && !last.passed ? `; the last drill (${last.at}) failed` : '';
    const remediation = `Run "vitalgate backup drill" (daily from cron, for example) and fix what it reports.`;
    if (!passed) return fail(`no restore drill has passed${lastNote}`, remediation);
    const ageDays = (now - Date.parse(passed)) / DAY;
    return ageDays <= config.backupDrillDays
      ? pass(`restore drill passed ${passed}${lastNote}`)
      : fail(
          `the last passed restore drill (${passed}) is ${Math.floor(ageDays)} days old, over ${config.backupDrillDays}${lastNote}`,
          remediation,
        );
  },
};

function parseLast(value: string | undefined): { at: string; passed: boolean } | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value) as { at?: unknown; passed?: unknown };
    return typeof parsed.at === 'string' ? { at: parsed.at, passed: parsed.passed === true } : undefined;
  } catch {
    return undefined;
  }
}
