// The care team's rota (clinicians of the team, admins): who is on call now, the shifts of the
// next 24 h in the site's time zone, the hand-off ("I'm handing over to dr. grey until 07:00")
// for whoever is on call, and a new shift for the team's lead or an admin. Escalations reach
// whoever the rota has on call at the moment of each step.
import { ApiError } from '../api.js';
import { h, notice, replace } from '../dom.js';
import type { Page, PageView } from '../page.js';
import { labelled, pageHeader, select, table } from '../ui.js';

interface Team {
  id: string;
  name: string;
  timeZone: string;
  lead: boolean;
}

interface Rota {
  id: string;
  name: string;
  timeZone: string;
  onCall: string[];
  members: string[];
  leads: string[];
  shifts: { username: string; startsAt: string; endsAt: string }[];
}

/** A time in the site's zone, with the zone named when it is not the browser's. */
function siteTime(iso: string, timeZone: string): string {
  return new Date(iso).toLocaleString(undefined, {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
}

function explain(err: unknown): string {
  if (err instanceof ApiError && err.code === 'ROTA_INVALID') {
    const field = err.detail?.field;
    if (field === 'from') return 'You are not on call now, so there is nothing to hand over.';
    if (field === 'until') return 'Give the time as HH:MM, for example 07:00.';
    if (field === 'to' || field === 'username') return 'Choose a member of this team.';
    if (field === 'endsAt') return 'A shift must end after it starts.';
  }
  return err instanceof Error ? err.message : 'That did not work.';
}

function submitting(form: HTMLFormElement, status: HTMLElement, run: () => Promise<string>): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
    button.disabled = true;
    run()
      .then((text) => status.replaceChildren(notice('ok', text)))
      .catch((err: unknown) => status.replaceChildren(notice('error', explain(err))))
      .finally(() => (button.disabled = false));
  });
}

function handOffForm(
  view: PageView,
  rota: Rota,
  status: HTMLElement,
  reload: () => Promise<void>,
): HTMLElement {
  const others = rota.members.filter((m) => m !== view.session?.username);
  const to = select('to', [['', 'Choose a colleague'], ...others.map((m) => [m, m] as const)]);
  const until = h('input', { name: 'until', type: 'time', required: true, value: '07:00' });
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': `handoff-${rota.id}` },
    h('h2', { id: `handoff-${rota.id}` }, 'Hand over'),
    h(
      'p',
      { class: 'meta' },
      `You are on call. Your shift ends now and your colleague takes over until the time you give (${rota.timeZone}).`,
    ),
    labelled('Hand over to', to),
    labelled('Until', until, `Site time, ${rota.timeZone}`),
    h('button', { type: 'submit', class: 'primary' }, 'Hand over'),
  );
  submitting(form, status, async () => {
    if (!to.value) throw new ApiError(400, 'ROTA_INVALID', { field: 'to' });
    const shift = await view.api.post<{ username: string; endsAt: string }>(
      `/care-teams/${rota.id}/hand-off`,
      {
        to: to.value,
        until: until.value,
      },
    );
    await reload();
    return `${shift.username} is on call until ${siteTime(shift.endsAt, rota.timeZone)}.`;
  });
  return form;
}

function shiftForm(
  view: PageView,
  rota: Rota,
  status: HTMLElement,
  reload: () => Promise<void>,
): HTMLElement {
  const who = select(
    'username',
    rota.members.map((m) => [m, m] as const),
    rota.members[0] ?? '',
  );
  const start = h('input', { name: 'startsAt', type: 'datetime-local', required: true });
  const end = h('input', { name: 'endsAt', type: 'datetime-local', required: true });
  const form = h(
    'form',
    { class: 'card', novalidate: true, 'aria-labelledby': `shift-${rota.id}` },
    h('h2', { id: `shift-${rota.id}` }, 'Add a shift'),
    labelled('Clinician', who),
    labelled('Starts', start, 'In this browser’s time'),
    labelled('Ends', end),
    h('button', { type: 'submit' }, 'Add shift'),
  );
  submitting(form, status, async () => {
    const startsAt = new Date(start.value);
    const endsAt = new Date(end.value);
    if (Number.isNaN(startsAt.getTime()) || Number.isNaN(endsAt.getTime()))
      throw new ApiError(400, 'ROTA_INVALID', { field: 'endsAt' });
    await view.api.post(`/care-teams/${rota.id}/shifts`, {
      username: who.value,
      startsAt: startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
    });
    await reload();
    return `Shift added for ${who.value}.`;
  });
  return form;
}

/** Draws a team's rota into `into`; outcomes of its forms go to `status` (it outlives a redraw). */
async function drawTeam(view: PageView, team: Team, into: HTMLElement, status: HTMLElement): Promise<void> {
  const rota = await view.api.get<Rota>(`/care-teams/${team.id}/rota`, view.signal);
  const me = view.session?.username ?? '';
  const reload = () => drawTeam(view, team, into, status);
  replace(
    into,
    h('h2', { id: `team-${team.id}` }, `${rota.name}`),
    h(
      'p',
      { class: 'on-call', 'data-team': team.id },
      rota.onCall.length === 0
        ? notice('error', 'Nobody is on call now: escalations reach only the assigned clinicians.')
        : h('span', null, 'On call now: ', h('strong', null, rota.onCall.join(', '))),
    ),
    h('p', { class: 'meta' }, `Team lead: ${rota.leads.join(', ') || 'none'} · site time ${rota.timeZone}`),
    table(
      `Shifts of the next 24 hours, ${rota.name}`,
      [
        { label: 'Clinician', cell: (s) => s.username },
        { label: 'From', cell: (s) => siteTime(s.startsAt, rota.timeZone) },
        { label: 'Until', cell: (s) => siteTime(s.endsAt, rota.timeZone) },
      ],
      rota.shifts,
    ),
    rota.onCall.includes(me) ? handOffForm(view, rota, status, reload) : null,
    team.lead || view.session?.role === 'admin' ? shiftForm(view, rota, status, reload) : null,
  );
}

export const careTeamPage: Page = {
  path: '/care-team',
  title: 'On call',
  roles: ['clinician', 'admin'],
  nav: { label: 'On call', order: 4 },
  async render(view) {
    const status = h('div', { class: 'form-status', role: 'status' });
    view.root.append(pageHeader('On call'), status);
    const { teams } = await view.api.get<{ teams: Team[] }>('/care-teams', view.signal);
    if (teams.length === 0) {
      view.root.append(notice('info', 'You are not in a care team. An administrator adds you to one.'));
      return;
    }
    for (const team of teams) {
      const section = h('section', { class: 'team', 'aria-labelledby': `team-${team.id}` });
      view.root.append(section);
      await drawTeam(view, team, section, status);
    }
  },
};
