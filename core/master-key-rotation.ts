// Master key rotation: every value sealed directly under the master key (the wrapped data keys and
// the hub's own secrets) is opened with the old key and sealed again under the new one, a batch
// per transaction. Values sealed under data keys (demographics, readings, dead letters, home
// points) follow their data key and are not touched. The pseudonym key is carried over, sealed
// under the new key, so every pseudonym (an InfluxDB tag) stays what it was.
//
// Progress lives in the control plane (`meta.master_key_rotation`): per table, the last row done,
// written in the same transaction as the rows. A rotation killed at any point resumes where it
// stopped, and no row is sealed twice: its progress commits with it or not at all.
import {
  aesGcmOpen,
  aesGcmSeal,
  masterKeyCheck,
  masterSealingKeys,
  pseudonymKeyOf,
  PSEUDONYM_KEY_AAD,
  SEALED_PSEUDONYM_KEY,
  secretAad,
  wrapAad,
} from './keyring.js';
import { VitalGateError } from './errors.js';
import type { Db } from './store/database.js';

export const MASTER_KEY_CHECK = 'master_key_check';
export const MASTER_KEY_ROTATION = 'master_key_rotation';

/** A column whose values are sealed directly under the master key. */
export interface MasterSealedColumn {
  table: string;
  column: string;
  /** Which master-derived key seals it. */
  under: 'wrap' | 'secret';
  /** Columns the associated data is built from. */
  aadColumns: readonly string[];
  aad(row: Record<string, unknown>): string;
}

/**
 * Everything sealed under the master key. A new column sealed with `Keyring.sealSecret` (or a new
 * wrapped key) must be listed here; test/unit/core/master-key-rotation.test.ts fails on any
 * `sealed`, `sealed_*`, `*_sealed` or `wrapped` column that is in neither list.
 */
export const MASTER_SEALED_COLUMNS: readonly MasterSealedColumn[] = [
  {
    table: 'data_keys',
    column: 'wrapped',
    under: 'wrap',
    aadColumns: ['subject', 'version'],
    aad: (r) => wrapAad(String(r.subject), Number(r.version)),
  },
  {
    table: 'pki_material',
    column: 'sealed_key',
    under: 'secret',
    aadColumns: ['name'],
    aad: (r) => secretAad(`pki:${String(r.name)}`),
  },
  {
    table: 'users',
    column: 'sealed_totp_secret',
    under: 'secret',
    aadColumns: ['username'],
    aad: (r) => secretAad(`totp:${String(r.username)}`),
  },
  {
    table: 'login_challenges',
    column: 'sealed_pending_secret',
    under: 'secret',
    aadColumns: ['username'],
    aad: (r) => secretAad(`totp:${String(r.username)}`),
  },
  {
    table: 'vapid_keys',
    column: 'sealed_private_key',
    under: 'secret',
    aadColumns: ['public_key'],
    aad: (r) => secretAad(`vapid:${String(r.public_key)}`),
  },
];

/** Columns sealed under a subject's data key: a rotation re-wraps the key, not these. */
export const DATA_KEY_SEALED_COLUMNS: readonly string[] = [
  'patients.sealed_demographics',
  'dead_letters.sealed_payload',
  'patient_home_points.sealed_point',
  'alert_notes.sealed',
  'alert_events.sealed_reason',
  'rpm_time_entries.sealed_note',
  'rpm_filed_reports.sealed_pdf',
  // A message's own key is sealed under the patient's (or its direct conversation's) data key, and
  // its content under that message key: re-wrapping the data key covers both.
  'messages.sealed_key',
  'messages.sealed_content',
  'filed_communications.sealed_content',
  'fhir_push_items.sealed',
  'fhir_push_items.outcome_sealed',
];

export interface RotationRecord {
  /** The check of the key rotated from, and of the key rotated to. */
  fromCheck: string;
  toCheck: string;
  startedAt: string;
  /** Per table: the highest rowid sealed under the new key so far. */
  cursors: Record<string, number>;
  /** The pseudonym key, sealed under the new master key (base64). */
  pseudonymKey: string;
}

export interface RotationProgress {
  table: string;
  done: number;
  total: number;
}

export function pendingRotation(db: Db): RotationRecord | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(MASTER_KEY_ROTATION) as
    { value: string } | undefined;
  return row ? (JSON.parse(row.value) as RotationRecord) : undefined;
}

function tableExists(db: Db, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

function setMeta(db: Db, key: string, value: string): void {
  db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run(key, value);
}

export class MasterKeyRotation {
  private readonly from: { wrap: Buffer; secret: Buffer };
  private readonly to: { wrap: Buffer; secret: Buffer };
  readonly toCheck: string;

  /**
   * `current` is the key the hub opens with now: the old key, or, when a rotation was stopped
   * after the new key was put in place, the new key itself (then only the last step remains).
   */
  constructor(
    private readonly db: Db,
    private readonly current: Buffer,
    next: Buffer,
  ) {
    this.from = masterSealingKeys(current);
    this.to = masterSealingKeys(next);
    this.toCheck = masterKeyCheck(next);
  }

  /** Starts the rotation, or returns the one already under way to the same key. */
  begin(now = new Date()): { record: RotationRecord; resumed: boolean } {
    return this.db
      .transaction(() => {
        const pending = pendingRotation(this.db);
        if (pending) {
          if (pending.toCheck !== this.toCheck) {
            throw new VitalGateError(
              'ROTATION_TO_OTHER_KEY',
              'a rotation to another master key is under way: finish it with that --new-key first',
            );
          }
          return { record: pending, resumed: true };
        }
        const fromCheck = masterKeyCheck(this.current);
        if (fromCheck === this.toCheck) {
          throw new VitalGateError('ROTATION_SAME_KEY', 'the new master key is the key in use');
        }
        const record: RotationRecord = {
          fromCheck,
          toCheck: this.toCheck,
          startedAt: now.toISOString(),
          cursors: {},
          pseudonymKey: aesGcmSeal(
            this.to.secret,
            pseudonymKeyOf(this.db, this.current),
            PSEUDONYM_KEY_AAD,
          ).toString('base64'),
        };
        setMeta(this.db, MASTER_KEY_ROTATION, JSON.stringify(record));
        return { record, resumed: false };
      })
      .immediate();
  }

  /** How many sealed values each table holds, and how many are done. */
  progress(): RotationProgress[] {
    const record = pendingRotation(this.db);
    return MASTER_SEALED_COLUMNS.filter((c) => tableExists(this.db, c.table)).map((c) => {
      const count = (sql: string, ...params: unknown[]) =>
        (this.db.prepare(sql).get(...params) as { n: number }).n;
      const where = `${c.column} IS NOT NULL`;
      return {
        table: c.table,
        done: count(
          `SELECT COUNT(*) AS n FROM ${c.table} WHERE ${where} AND rowid <= ?`,
          record?.cursors[c.table] ?? 0,
        ),
        total: count(`SELECT COUNT(*) AS n FROM ${c.table} WHERE ${where}`),
      };
    });
  }

  /**
   * Seals one batch of at most `batchSize` values under the new key, in one transaction with its
   * progress. Returns the table it worked on and how many values, or undefined when all are done.
   */
  step(batchSize: number): { table: string; sealed: number } | undefined {
    return this.db
      .transaction(() => {
        const record = pendingRotation(this.db);
        if (!record) throw new VitalGateError('ROTATION_NOT_STARTED', 'no master key rotation is under way');
        for (const c of MASTER_SEALED_COLUMNS) {
          if (!tableExists(this.db, c.table)) continue;
          const after = record.cursors[c.table] ?? 0;
          const rows = this.db
            .prepare(
              `SELECT rowid AS rid, ${c.column} AS sealed, ${c.aadColumns.join(', ')} FROM ${c.table}
               WHERE rowid > ? AND ${c.column} IS NOT NULL ORDER BY rowid LIMIT ?`,
            )
            .all(after, batchSize) as ({ rid: number; sealed: Buffer } & Record<string, unknown>)[];
          if (rows.length === 0) continue;
          const update = this.db.prepare(`UPDATE ${c.table} SET ${c.column} = ? WHERE rowid = ?`);
          for (const row of rows) update.run(this.reseal(row.sealed, c.aad(row), c.under), row.rid);
          record.cursors[c.table] = rows.at(-1)!.rid;
          setMeta(this.db, MASTER_KEY_ROTATION, JSON.stringify(record));
          return { table: c.table, sealed: rows.length };
        }
        return undefined;
      })
      .immediate();
  }

  /**
   * Ends the rotation: the control plane now recognises the new key only, and the pseudonym key is
   * kept sealed under it. Call once every value is done and the new key is where the hub reads it.
   */
  finish(): void {
    this.db
      .transaction(() => {
        const record = pendingRotation(this.db);
        if (!record) throw new VitalGateError('ROTATION_NOT_STARTED', 'no master key rotation is under way');
        if (this.progress().some((p) => p.done < p.total)) {
          throw new VitalGateError('ROTATION_INCOMPLETE', 'sealed values remain under the old master key');
        }
        setMeta(this.db, SEALED_PSEUDONYM_KEY, record.pseudonymKey);
        setMeta(this.db, MASTER_KEY_CHECK, record.toCheck);
        this.db.prepare('DELETE FROM meta WHERE key = ?').run(MASTER_KEY_ROTATION);
      })
      .immediate();
  }

  /** The value opened under the current key and sealed under the new one. */
  private reseal(sealed: Buffer, aad: string, under: 'wrap' | 'secret'): Buffer {
    let plain: Buffer;
    try {
      plain = aesGcmOpen(this.from[under], sealed, aad);
    } catch {
      throw new VitalGateError(
        'ROTATION_KEY_MISMATCH',
        'a sealed value does not open under the master key in use: it is not the key this rotation started from',
      );
    }
    const resealed = aesGcmSeal(this.to[under], plain, aad);
    plain.fill(0);
    return resealed;
  }
}
