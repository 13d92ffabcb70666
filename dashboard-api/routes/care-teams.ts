// Care teams and their on-call rota: an admin creates teams, sets members and leads and places
// patients; an admin or the team's lead adds shifts; the clinician on call hands off in one
// action. The rota logic is the care layer's (care/on-call.ts); every change is audited.
import { z } from 'zod';
import { checkTimeZone, OnCallRota } from '../../care/on-call.js';
import { VitalGateError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import type { ApiApp } from '../server.js';
import { patientId, username } from '../schemas.js';

const teamId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'expected 1 to 40 lowercase letters, digits or -');
const teamParams = z.object({ teamId }).strict();
const instant = z
  .string()
  .datetime({ offset: true })
  .transform((s) => Date.parse(s));

export function registerCareTeamRoutes(app: ApiApp, ctx: ApiContext): void {
  const tags = ['care teams'];
  const rota = new OnCallRota(ctx.store, ctx.now);
  const requireTeam = (id: string) => {
    const team = rota.teams.get(id);
    if (!team) throw new VitalGateError('TEAM_NOT_FOUND', 'no such care team');
    return team;
  };
  const audit = (
    actor: string,
    action: string,
    team: string,
    source: string,
    details: Record<string, unknown>,
  ) => ctx.store.audit.append({ actor, action, target: `team:${team}`, outcome: 'success', source, details });
  const shiftView = (s: { username: string; startsAt: number; endsAt: number }) => ({
    username: s.username,
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: new Date(s.endsAt).toISOString(),
  });

  app.post(
    '/care-teams',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary: 'Creates a care team with its site time zone (IANA name).',
        body: z
          .object({ id: teamId, name: z.string().trim().min(1).max(100), timeZone: z.string().max(64) })
          .strict(),
      },
    },
    async (request, reply) => {
      const b = request.body;
      checkTimeZone(b.timeZone);
      if (rota.teams.get(b.id)) throw new VitalGateError('TEAM_EXISTS', `care team ${b.id} exists`);
      ctx.store.transaction(() => {
        rota.teams.add(b);
        audit(`user:${request.principal!.username}`, 'care_team.create', b.id, request.ip, {
          timeZone: b.timeZone,
        });
      });
      return reply.code(201).send(b);
    },
  );

  app.put(
    '/care-teams/:teamId/members/:username',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary: 'Adds a clinician to the team, or changes their role (clinician or lead).',
        params: z.object({ teamId, username }).strict(),
        body: z.object({ role: z.enum(['clinician', 'lead']) }).strict(),
      },
    },
    async (request) => {
      const { teamId: id, username: name } = request.params;
      requireTeam(id);
      if (ctx.store.users.get(name)?.role !== 'clinician')
        throw new VitalGateError('ROLE_NOT_ALLOWED', 'only clinicians are members of a care team');
      ctx.store.transaction(() => {
        rota.teams.setMember(id, name, request.body.role);
        audit(`user:${request.principal!.username}`, 'care_team.member', id, request.ip, {
          username: name,
          role: request.body.role,
        });
      });
      return { teamId: id, members: rota.teams.members(id), leads: rota.teams.members(id, 'lead') };
    },
  );

  app.put(
    '/care-teams/:teamId/patients/:patientId',
    {
      config: { access: 'patients.manage' },
      schema: {
        tags,
        summary: 'Places a patient in the team’s care (one team per patient).',
        params: z.object({ teamId, patientId }).strict(),
      },
    },
    async (request) => {
      const { teamId: id, patientId: pid } = request.params;
      requireTeam(id);
      ctx.store.patients.require(pid);
      ctx.store.transaction(() => {
        rota.teams.assignPatient(pid, id);
        audit(`user:${request.principal!.username}`, 'care_team.patient', id, request.ip, { patientId: pid });
      });
      return { teamId: id, patientId: pid };
    },
  );

  app.get(
    '/care-teams',
    {
      config: { access: ['patients.manage', 'phi.read'] },
      schema: {
        tags,
        summary: 'The care teams the caller may see: every team for an admin, their own for a clinician.',
      },
    },
    async (request) => {
      const p = request.principal!;
      const teams = rota.teams
        .list()
        .filter((t) => p.role !== 'clinician' || rota.teams.members(t.id).includes(p.username));
      return {
        teams: teams.map((t) => ({
          ...t,
          lead: rota.teams.members(t.id, 'lead').includes(p.username),
        })),
      };
    },
  );

  app.get(
    '/care-teams/:teamId/rota',
    {
      config: { access: ['patients.manage', 'phi.read'] },
      schema: {
        tags,
        summary: 'Who is on call now and the shifts of the next 24 h (admins and team members).',
        params: teamParams,
      },
    },
    async (request) => {
      const team = requireTeam(request.params.teamId);
      const p = request.principal!;
      if (p.role === 'clinician' && !rota.teams.members(team.id).includes(p.username))
        throw new VitalGateError('FORBIDDEN', 'you are not a member of this care team');
      const now = ctx.now();
      return {
        ...team,
        onCall: rota.onCall(team.id, now),
        members: rota.teams.members(team.id),
        leads: rota.teams.members(team.id, 'lead'),
        shifts: rota.teams.shifts(team.id, now, now + 24 * 3_600_000).map(shiftView),
      };
    },
  );

  app.post(
    '/care-teams/:teamId/shifts',
    {
      config: { access: ['patients.manage', 'phi.read'] },
      schema: {
        tags,
        summary: 'Adds an on-call shift (an admin or the team’s lead).',
        params: teamParams,
        body: z.object({ username, startsAt: instant, endsAt: instant }).strict(),
      },
    },
    async (request, reply) => {
      const team = requireTeam(request.params.teamId);
      const p = request.principal!;
      if (p.role === 'clinician' && !rota.teams.members(team.id, 'lead').includes(p.username))
        throw new VitalGateError('FORBIDDEN', 'only an admin or the team lead edits the rota');
      const b = request.body;
      rota.addShift(team.id, b.username, b.startsAt, b.endsAt, `user:${p.username}`, request.ip);
      return reply.code(201).send(shiftView(b));
    },
  );

  app.post(
    '/care-teams/:teamId/hand-off',
    {
      config: { access: 'phi.read' },
      schema: {
        tags,
        summary: 'The clinician on call hands over to a team member until HH:MM (site time).',
        params: teamParams,
        body: z.object({ to: username, until: z.string().max(5) }).strict(),
      },
    },
    async (request) => {
      const team = requireTeam(request.params.teamId);
      const handed = rota.handOff(
        team.id,
        request.principal!.username,
        request.body.to,
        request.body.until,
        request.ip,
      );
      return shiftView(handed);
    },
  );
}
