// Care teams (the clinicians looking after a group of patients, with the site's time zone),
// their members and leads, and the on-call rota: shifts of one clinician over a time range.
import type { Db } from './database.js';

export type TeamRole = 'clinician' | 'lead';

export interface CareTeam {
  id: string;
  name: string;
  timeZone: string;
}

export interface RotaShift {
  id: number;
  teamId: string;
  username: string;
  startsAt: number;
  endsAt: number;
  createdBy: string;
  createdAt: number;
}

interface ShiftRow {
  id: number;
  team_id: string;
  username: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  created_at: number;
}

const fromShift = (r: ShiftRow): RotaShift => ({
  id: r.id,
  teamId: r.team_id,
  username: r.username,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

export class CareTeamRepository {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  add(team: CareTeam): void {
    this.db
      .prepare('INSERT INTO care_teams (id, name, time_zone) VALUES (?, ?, ?)')
      .run(team.id, team.name, team.timeZone);
  }

  get(id: string): CareTeam | undefined {
    const r = this.db.prepare('SELECT * FROM care_teams WHERE id = ?').get(id) as
      { id: string; name: string; time_zone: string } | undefined;
    return r && { id: r.id, name: r.name, timeZone: r.time_zone };
  }

  list(): CareTeam[] {
    return (
      this.db.prepare('SELECT * FROM care_teams ORDER BY id').all() as {
        id: string;
        name: string;
        time_zone: string;
      }[]
    ).map((r) => ({ id: r.id, name: r.name, timeZone: r.time_zone }));
  }

  setMember(teamId: string, username: string, role: TeamRole): void {
    this.db
      .prepare(
        'INSERT INTO care_team_members (team_id, username, role) VALUES (?, ?, ?) ON CONFLICT (team_id, username) DO UPDATE SET role = excluded.role',
      )
      .run(teamId, username, role);
  }

  members(teamId: string, role?: TeamRole): string[] {
    return (
      this.db
        .prepare(
          `SELECT username FROM care_team_members WHERE team_id = ? ${role ? 'AND role = ?' : ''} ORDER BY username`,
        )
        .all(...(role ? [teamId, role] : [teamId])) as { username: string }[]
    ).map((r) => r.username);
  }

  assignPatient(patientId: string, teamId: string): void {
    this.db
      .prepare(
        'INSERT INTO care_team_patients (patient_id, team_id) VALUES (?, ?) ON CONFLICT (patient_id) DO UPDATE SET team_id = excluded.team_id',
      )
      .run(patientId, teamId);
  }

  teamOf(patientId: string): string | undefined {
    const r = this.db
      .prepare('SELECT team_id FROM care_team_patients WHERE patient_id = ?')
      .get(patientId) as { team_id: string } | undefined;
    return r?.team_id;
  }

  addShift(s: Omit<RotaShift, 'id' | 'createdAt'>): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO rota_shifts (team_id, username, starts_at, ends_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(s.teamId, s.username, s.startsAt, s.endsAt, s.createdBy, this.now()).lastInsertRowid,
    );
  }

  /** Shifts of a team that overlap [from, to). */
  shifts(teamId: string, from: number, to: number): RotaShift[] {
    return (
      this.db
        .prepare(
          'SELECT * FROM rota_shifts WHERE team_id = ? AND starts_at < ? AND ends_at > ? ORDER BY starts_at, id',
        )
        .all(teamId, to, from) as ShiftRow[]
    ).map(fromShift);
  }

  /** Ends a shift early (a hand-off); a shift not yet started is removed. */
  endShift(id: number, at: number): void {
    this.db.prepare('DELETE FROM rota_shifts WHERE id = ? AND starts_at >= ?').run(id, at);
    this.db.prepare('UPDATE rota_shifts SET ends_at = ? WHERE id = ? AND ends_at > ?').run(at, id, at);
  }
}
