// Program-wide alert rule parameters: an admin's replacement for a rule's built-in default,
// in force for every patient who has no override of their own.
import type { Db } from './database.js';

export class AlertDefaultRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every program default, as `rule` → `parameter` → value. */
  all(): Map<string, Map<string, number>> {
    const rows = this.db.prepare('SELECT rule, parameter, value FROM alert_rule_defaults').all() as {
      rule: string;
      parameter: string;
      value: number;
    }[];
    const out = new Map<string, Map<string, number>>();
    for (const r of rows) {
      const rule = out.get(r.rule) ?? new Map<string, number>();
      rule.set(r.parameter, r.value);
      out.set(r.rule, rule);
    }
    return out;
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
