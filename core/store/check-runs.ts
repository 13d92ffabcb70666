// Deployment check reports, kept with history.
import type { Db } from './database.js';

export interface StoredCheckRun<Report> {
  id: number;
  startedAt: number;
  finishedAt: number;
  failing: boolean;
  report: Report;
}

export class CheckRunRepository {
  constructor(private readonly db: Db) {}

  add<Report>(run: { startedAt: number; finishedAt: number; failing: boolean; report: Report }): number {
    const result = this.db
      .prepare('INSERT INTO check_runs (started_at, finished_at, failing, report) VALUES (?, ?, ?, ?)')
      .run(run.startedAt, run.finishedAt, run.failing ? 1 : 0, JSON.stringify(run.report));
    return Number(result.lastInsertRowid);
  }

  latest<Report>(limit = 1): StoredCheckRun<Report>[] {
    const rows = this.db.prepare('SELECT * FROM check_runs ORDER BY id DESC LIMIT ?').all(limit) as {
      id: number;
      started_at: number;
      finished_at: number;
      failing: number;
      report: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      failing: r.failing === 1,
      report: JSON.parse(r.report) as Report,
    }));
  }
}
