// One staff device as a card: its name, what browser it is, when and from where it was last
// seen, its live sessions, and (when the viewer may) rename and "mark lost" controls. The user's
// "My devices" page and the admin's staff devices page both draw devices with it.
import type { ApiClient } from './api.js';
import { formatAge, formatTime, h, notice } from './dom.js';
import { confirmAction, labelled } from './ui.js';

export interface StaffDevice {
  id: string;
  username: string;
  name: string;
  userAgentName: string;
  firstSeenAt: string;
  lastSeenAt: string;
  lastAddress: string | null;
  current: boolean;
  lost: { at: string; by: string; reason: string; wiped: boolean } | null;
  sessions: { startedAt: string; lastSeenAt: string; expiresAt: string; source: string | null }[];
}

export interface DeviceCardOptions {
  api: ApiClient;
  /** The viewer may rename it (their own device). */
  canRename: boolean;
  /** Called after a change, to draw the list again. */
  changed(): void;
}

export function staffDeviceCard(d: StaffDevice, o: DeviceCardOptions): HTMLElement {
  const titleId = `device-${d.id}`;
  const status = h('div', { class: 'form-status' });
  const facts = h(
    'dl',
    { class: 'facts' },
    h('dt', null, 'Browser'),
    h('dd', null, d.userAgentName),
    h('dt', null, 'Last seen'),
    h('dd', null, `${formatAge(d.lastSeenAt)} (${formatTime(d.lastSeenAt)})`),
    h('dt', null, 'Last address'),
    h('dd', null, d.lastAddress ?? '–'),
    h('dt', null, 'First seen'),
    h('dd', null, formatTime(d.firstSeenAt)),
    h('dt', null, 'Signed in'),
    h(
      'dd',
      null,
      d.sessions.length === 0 ? 'No' : `${d.sessions.length} session${d.sessions.length > 1 ? 's' : ''}`,
    ),
  );
  const actions = h('div', { class: 'row' });
  if (o.canRename && !d.lost) {
    const name = h('input', {
      name: 'name',
      value: d.name,
      maxlength: 60,
      autocomplete: 'off',
      required: true,
    });
    const form = h(
      'form',
      { class: 'row rename' },
      labelled('Device name', name),
      h('button', { type: 'submit' }, 'Rename'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      o.api
        .put(`/staff-devices/${d.id}/name`, { name: name.value.trim() })
        .then(() => o.changed())
        .catch((err: unknown) => status.replaceChildren(notice('error', (err as Error).message)));
    });
    actions.append(form);
  }
  if (!d.lost) {
    actions.append(
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          onclick: () =>
            void confirmAction({
              title: `Mark “${d.name}” lost?`,
              text: d.current
                ? 'This is the device you are using: you will be signed out at once and what this site kept in this browser is erased.'
                : 'Every session on it ends now, its passkeys stop working, and the next time it reaches VitalGate the browser erases what this site kept.',
              reason: true,
              action: 'Mark lost and sign it out',
              danger: true,
              run: (reason) => o.api.post(`/staff-devices/${d.id}/lost`, { reason }),
            }).then((done) => done && o.changed()),
        },
        'Mark lost',
      ),
    );
  }
  return h(
    'section',
    { class: 'card staff-device', 'aria-labelledby': titleId, 'data-device': d.id },
    h(
      'h2',
      { id: titleId },
      d.name,
      d.current ? h('span', { class: 'badge badge-ok' }, 'This device') : null,
      d.lost ? h('span', { class: 'badge badge-critical' }, 'Lost') : null,
    ),
    d.lost
      ? notice(
          'info',
          `Marked lost ${formatTime(d.lost.at)} by ${d.lost.by}. ${d.lost.wiped ? 'It has been told to erase this site’s data.' : 'It will erase this site’s data when it next connects.'}`,
        )
      : null,
    facts,
    actions,
    status,
  );
}
