// Program-wide alert rule parameters: an admin's replacement for a rule's built-in default,
// in force for every patient who has no override of their own.
import { groupParameters } from './alert-settings.js';
import type { Db } from './database.js';

export class AlertDefaultRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every program default, as `rule` → `parameter` → value. */
  all(): Map<string, Map<string, number>> {
    return groupParameters(
      this.db.prepare('SELECT rule AS grp, parameter, value FROM alert_rule_defaults').all() as {
        grp: string;
        parameter: string;
        value: number;
      }[],
    );
  }

  set(rule: string, parameter: string, value: number): void {
    this.db
      .prepare(
        'INSERT INTO alert_rule_defaults (rule, parameter, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (rule, parameter) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      )
      .run(rule, parameter, value, this.now());
  }

  remove(rule: string, parameter: string): boolean {
    return (
      this.db.prepare('DELETE FROM alert_rule_defaults WHERE rule = ? AND parameter = ?').run(rule, parameter)
        .changes === 1
    );
  }
}
