// Per-patient alert settings: numeric rule parameters that replace a rule's defaults
// (thresholds, hold times, geofence radius), and the patient's home point for the geofence.
// The home point is a location, so it is stored sealed under the patient's key (the caller
// seals; this repository only keeps the bytes).
import type { Db } from './database.js';

export interface AlertParameter {
  patientId: string;
  rule: string;
  parameter: string;
  value: number;
  updatedAt: number;
}

/** Rows of (group, parameter, value) as group → parameter → value (group: a rule or a patient). */
export function groupParameters(
  rows: readonly { grp: string; parameter: string; value: number }[],
): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const group = out.get(r.grp) ?? new Map<string, number>();
    group.set(r.parameter, r.value);
    out.set(r.grp, group);
  }
  return out;
}

export class AlertParameterRepository {
  private readonly byPatient;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.byPatient = db.prepare(
      'SELECT rule AS grp, parameter, value FROM alert_rule_parameters WHERE patient_id = ?',
    );
  }

  /** Every override of a patient, as `rule` → `parameter` → value. */
  forPatient(patientId: string): Map<string, Map<string, number>> {
    return groupParameters(
      this.byPatient.all(patientId) as { grp: string; parameter: string; value: number }[],
    );
  }

  /** Overrides of one rule, per patient, for every patient who has one. */
  forRule(rule: string): Map<string, Map<string, number>> {
    return groupParameters(
      this.db
        .prepare('SELECT patient_id AS grp, parameter, value FROM alert_rule_parameters WHERE rule = ?')
        .all(rule) as { grp: string; parameter: string; value: number }[],
    );
  }

  set(patientId: string, rule: string, parameter: string, value: number): void {
    this.db
      .prepare(
        'INSERT INTO alert_rule_parameters (patient_id, rule, parameter, value, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (patient_id, rule, parameter) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      )
      .run(patientId, rule, parameter, value, this.now());
  }

  remove(patientId: string, rule: string, parameter: string): boolean {
    return (
      this.db
        .prepare('DELETE FROM alert_rule_parameters WHERE patient_id = ? AND rule = ? AND parameter = ?')
        .run(patientId, rule, parameter).changes === 1
    );
  }
}

export interface SealedHomePoint {
  patientId: string;
  /** 'configured' by staff, or the 'first_seen' location of the patient's devices. */
  source: 'configured' | 'first_seen';
  keyVersion: number;
  sealedPoint: Buffer;
  updatedAt: number;
}

export class HomePointRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  get(patientId: string): SealedHomePoint | undefined {
    const row = this.db.prepare('SELECT * FROM patient_home_points WHERE patient_id = ?').get(patientId) as
      | {
          patient_id: string;
          source: SealedHomePoint['source'];
          key_version: number;
          sealed_point: Buffer;
          updated_at: number;
        }
      | undefined;
    return (
      row && {
        patientId: row.patient_id,
        source: row.source,
        keyVersion: row.key_version,
        sealedPoint: row.sealed_point,
        updatedAt: row.updated_at,
      }
    );
  }

  /** Stores a home point; a first-seen one never replaces an existing point. Returns whether it was stored. */
  put(home: Omit<SealedHomePoint, 'updatedAt'>): boolean {
    const sql =
      home.source === 'configured'
        ? 'INSERT INTO patient_home_points (patient_id, source, key_version, sealed_point, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (patient_id) DO UPDATE SET source = excluded.source, key_version = excluded.key_version, sealed_point = excluded.sealed_point, updated_at = excluded.updated_at'
        : 'INSERT INTO patient_home_points (patient_id, source, key_version, sealed_point, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (patient_id) DO NOTHING';
    return (
      this.db.prepare(sql).run(home.patientId, home.source, home.keyVersion, home.sealedPoint, this.now())
        .changes === 1
    );
  }

  remove(patientId: string): boolean {
    return (
      this.db.prepare('DELETE FROM patient_home_points WHERE patient_id = ?').run(patientId).changes === 1
    );
  }
}
