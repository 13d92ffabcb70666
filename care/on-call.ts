// Who is on call for a care team, and the hand-off. Shifts are stored as instants; times typed
// by people ("until 07:00") are read in the team's site time zone, daylight saving included.
import type { AuditLog } from '../core/audit.js';
import { VitalGateError } from '../core/errors.js';
import { CareTeamRepository } from '../core/store/care-teams.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { isTimeZone, wallClock, zoneOffsetMs } from '../core/time-zone.js';

/** The next instant after `now` at which the wall clock in `timeZone` reads `hh:mm`. */
export function nextLocalTime(timeZone: string, hhmm: string, now: number): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new VitalGateError('ROTA_INVALID', `${hhmm}: expected a time as HH:MM`, { field: 'until' });
  const clock = wallClock(timeZone);
  const offsetMs = (at: number) => zoneOffsetMs(clock, at);
  const wallNow = now + offsetMs(now);
  const day = Math.floor(wallNow / 86_400_000) * 86_400_000;
  for (let d = 0; d <= 2; d++) {
    const wall = day + d * 86_400_000 + (Number(m[1]) * 60 + Number(m[2])) * 60_000;
    // The offset at the target may differ from now's (a DST change in between).
    let at = wall - offsetMs(wall - offsetMs(now));
    at = wall - offsetMs(at);
    if (at > now) return at;
  }
  throw new VitalGateError('ROTA_INVALID', `${hhmm}: no such time in ${timeZone}`, { field: 'until' });
}

export function checkTimeZone(timeZone: string): void {
  if (!isTimeZone(timeZone))
    throw new VitalGateError(
      'ROTA_INVALID',
      `${timeZone} is not a time zone (IANA name, e.g. Europe/Amsterdam)`,
      {
        field: 'timeZone',
      },
    );
}

export class OnCallRota {
  readonly teams: CareTeamRepository;
  private readonly audit: AuditLog;

  constructor(
    private readonly store: ControlPlane,
    private readonly now: () => number = Date.now,
  ) {
    this.teams = new CareTeamRepository(store.db, now);
    this.audit = store.audit;
  }

  private team(teamId: string) {
    const team = this.teams.get(teamId);
    if (!team) throw new VitalGateError('TEAM_NOT_FOUND', 'no such care team');
    return team;
  }

  /** Who is on call for the team at `at` (more than one when shifts overlap). */
  onCall(teamId: string, at = this.now()): string[] {
    return [...new Set(this.teams.shifts(teamId, at, at + 1).map((s) => s.username))];
  }

  /** Adds a shift of a team member; audited. */
  addShift(
    teamId: string,
    username: string,
    startsAt: number,
    endsAt: number,
    actor: string,
    source?: string,
  ): number {
    this.team(teamId);
    if (!this.teams.members(teamId).includes(username))
      throw new VitalGateError('ROTA_INVALID', `${username} is not a member of the team`, {
        field: 'username',
      });
    if (!(Number.isFinite(startsAt) && Number.isFinite(endsAt) && endsAt > startsAt))
      throw new VitalGateError('ROTA_INVALID', 'a shift ends after it starts', { field: 'endsAt' });
    const id = this.store.transaction(() => {
      const shiftId = this.teams.addShift({ teamId, username, startsAt, endsAt, createdBy: actor });
      this.audit.append({
        actor,
        action: 'rota.shift_add',
        target: `team:${teamId}`,
        outcome: 'success',
        source,
        details: {
          username,
          startsAt: new Date(startsAt).toISOString(),
          endsAt: new Date(endsAt).toISOString(),
        },
      });
      return shiftId;
    });
    return id;
  }

  /**
   * One action: `from` hands the on-call role to `to` until `until` (HH:MM in the site's time
   * zone, the next time the clock reads it). `from`'s current shifts end now. Audited.
   */
  handOff(
    teamId: string,
    from: string,
    to: string,
    until: string,
    source?: string,
  ): { username: string; startsAt: number; endsAt: number } {
    const team = this.team(teamId);
    const now = this.now();
    if (!this.teams.members(teamId).includes(to))
      throw new VitalGateError('ROTA_INVALID', `${to} is not a member of the team`, { field: 'to' });
    const endsAt = nextLocalTime(team.timeZone, until, now);
    const mine = this.teams.shifts(teamId, now, now + 1).filter((s) => s.username === from);
    if (mine.length === 0)
      throw new VitalGateError('ROTA_INVALID', `${from} is not on call now`, { field: 'from' });
    this.store.transaction(() => {
      for (const s of mine) this.teams.endShift(s.id, now);
      this.teams.addShift({ teamId, username: to, startsAt: now, endsAt, createdBy: `user:${from}` });
      this.audit.append({
        actor: `user:${from}`,
        action: 'rota.hand_off',
        target: `team:${teamId}`,
        outcome: 'success',
        source,
        details: { to, until: new Date(endsAt).toISOString() },
      });
    });
    return { username: to, startsAt: now, endsAt };
  }
}
