// Small named values of the control plane (CRL number, init marker, schedules).
import type { Db } from './database.js';

export class MetaRepository {
  constructor(private readonly db: Db) {}

  get(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)
      ?.value;
  }

  set(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, value);
  }

  /** Atomically increments an integer counter and returns the new value. */
  increment(key: string): number {
    const row = this.db
      .prepare(
        "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value",
      )
      .get(key) as { value: string | number };
    return Number(row.value);
  }
}
