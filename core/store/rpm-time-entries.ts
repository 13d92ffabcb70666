// Clinical staff time on a patient's RPM treatment management. An entry is proposed (a timer
// stopped in the console, or typed in) and counts only once the clinician confirms it; the note
// is clinical free text, sealed under the patient's key by the caller.
import type { Db } from './database.js';

export type TimeEntryState = 'proposed' | 'confirmed' | 'discarded';

export interface RpmTimeEntry {
  id: number;
  patientId: string;
  clinician: string;
  startedAt: number;
  minutes: number;
  activity: string;
  interactive: boolean;
  /** Where it was started: `patient_view`, `messaging` or `entry`. */
  origin: string;
  state: TimeEntryState;
  createdAt: number;
  decidedAt: number | null;
  keyVersion: number | null;
  sealedNote: Buffer | null;
}

interface Row {
  id: number;
  patient_id: string;
  clinician: string;
  started_at: number;
  minutes: number;
  activity: string;
  interactive: number;
  origin: string;
  state: TimeEntryState;
  created_at: number;
  decided_at: number | null;
  key_version: number | null;
  sealed_note: Buffer | null;
}

const fromRow = (r: Row): RpmTimeEntry => ({
  id: r.id,
  patientId: r.patient_id,
  clinician: r.clinician,
  startedAt: r.started_at,
  minutes: r.minutes,
  activity: r.activity,
  interactive: r.interactive === 1,
  origin: r.origin,
  state: r.state,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
  keyVersion: r.key_version,
  sealedNote: r.sealed_note,
});

export class RpmTimeEntryRepository {
  constructor(private readonly db: Db) {}

  add(e: Omit<RpmTimeEntry, 'id' | 'state' | 'decidedAt'>): number {
    return Number(
      this.db
        .prepare(
          `INSERT INTO rpm_time_entries (patient_id, clinician, started_at, minutes, activity, interactive, origin, state, created_at, key_version, sealed_note)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?, ?)`,
        )
        .run(
          e.patientId,
          e.clinician,
          e.startedAt,
          e.minutes,
          e.activity,
          e.interactive ? 1 : 0,
          e.origin,
          e.createdAt,
          e.keyVersion,
          e.sealedNote,
        ).lastInsertRowid,
    );
  }

  get(id: number): RpmTimeEntry | undefined {
    const row = this.db.prepare('SELECT * FROM rpm_time_entries WHERE id = ?').get(id) as Row | undefined;
    return row && fromRow(row);
  }

  /** Moves a proposed entry to confirmed or discarded; false when it was not proposed. */
  decide(id: number, state: 'confirmed' | 'discarded', at: number): boolean {
    return (
      this.db
        .prepare("UPDATE rpm_time_entries SET state = ?, decided_at = ? WHERE id = ? AND state = 'proposed'")
        .run(state, at, id).changes === 1
    );
  }

  /** A patient's entries started in [from, to), oldest first; all states unless given. */
  forPatient(patientId: string, from: number, to: number, state?: TimeEntryState): RpmTimeEntry[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM rpm_time_entries WHERE patient_id = ? AND started_at >= ? AND started_at < ?
         ${state ? 'AND state = ?' : ''} ORDER BY started_at, id`,
      )
      .all(...[patientId, from, to, ...(state ? [state] : [])]) as Row[];
    return rows.map(fromRow);
  }

  /** Every patient's confirmed entries started in [from, to), grouped by patient. */
  confirmedBetween(from: number, to: number): Map<string, RpmTimeEntry[]> {
    const out = new Map<string, RpmTimeEntry[]>();
    for (const row of this.db
      .prepare(
        "SELECT * FROM rpm_time_entries WHERE state = 'confirmed' AND started_at >= ? AND started_at < ? ORDER BY started_at, id",
      )
      .iterate(from, to) as Iterable<Row>) {
      const list = out.get(row.patient_id);
      if (list) list.push(fromRow(row));
      else out.set(row.patient_id, [fromRow(row)]);
    }
    return out;
  }
}
