// When each device's last reading arrived, as the device watch saw it (written on its timer, a
// batch every few seconds, never on the reading path), and when the watch last started. The
// deployment checks read both to find devices silent past their cadence with no alarm.
import type { Db } from './database.js';

const WATCH_STARTED = 'device_watch_started_at';

export class DeviceReadingRepository {
  constructor(private readonly db: Db) {}

  /** Stores arrival times (the later one wins). */
  record(heard: ReadonlyMap<string, number>): void {
    const upsert = this.db.prepare(
      'INSERT INTO device_last_readings (device_id, at) VALUES (?, ?) ON CONFLICT (device_id) DO UPDATE SET at = MAX(at, excluded.at)',
    );
    this.db.transaction(() => {
      for (const [deviceId, at] of heard) upsert.run(deviceId, at);
    })();
  }

  lastReadings(): Map<string, number> {
    const rows = this.db.prepare('SELECT device_id, at FROM device_last_readings').all() as {
      device_id: string;
      at: number;
    }[];
    return new Map(rows.map((r) => [r.device_id, r.at]));
  }

  watchStarted(at: number): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(WATCH_STARTED, String(at));
  }

  /** When the hub's device watch last started (undefined: it never ran on this data dir). */
  watchStartedAt(): number | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(WATCH_STARTED) as
      { value: string } | undefined;
    return row ? Number(row.value) : undefined;
  }
}
