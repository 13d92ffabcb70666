// Migration 530: a control plane from before replay windows keeps its dedupe state. Each device's
// `device_seq` row becomes the window of its current certificate's enrollment (that certificate's
// serial: renewals had no lineage before), a device without a certificate gets the '' window,
// and the repository reads them back under those windows.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../../core/store/database.js';
import { DeviceSeqRepository, seqWindowKey } from '../../../core/store/ingest-state.js';
import { MIGRATIONS } from '../../../core/store/migrations.js';

describe('migration 530', () => {
  it('moves each device_seq row to the window of the device’s current enrollment', () => {
    const db = new Database(':memory:');
    try {
      migrate(
        db,
        MIGRATIONS.filter((m) => m.version < 530),
      );
      const insert = db.prepare(
        "INSERT INTO devices (id, kind, status, current_serial, created_at, updated_at) VALUES (?, 'wearable', 'active', ?, 0, 0)",
      );
      insert.run('wear-1', 'aa11');
      insert.run('wear-2', null);
      db.prepare('INSERT INTO device_seq (device_id, last_seq) VALUES (?, ?), (?, ?)').run(
        'wear-1',
        42,
        'wear-2',
        7,
      );
      expect(migrate(db, MIGRATIONS)).toContain(530);
      const windows = new DeviceSeqRepository(db).all();
      expect(windows).toEqual(
        new Map([
          [seqWindowKey('wear-1', 'aa11'), 42],
          [seqWindowKey('wear-2', ''), 7],
        ]),
      );
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'device_seq'").get()).toBeUndefined();
    } finally {
      db.close();
    }
  });
});
