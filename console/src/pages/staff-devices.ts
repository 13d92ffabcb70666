// Staff devices (admin): everyone's devices, or one user's (`?user=`), to mark a device lost, and
// to sign out everywhere a user who leaves (optionally marking all their devices lost, so each
// erases what the console kept when it next connects).
import { h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { staffDeviceCard, type StaffDevice } from '../staff-device-card.js';
import { confirmAction, labelled, pageHeader } from '../ui.js';

export const staffDevicesPage: Page = {
  path: '/staff-devices',
  title: 'Staff devices',
  roles: ['admin'],
  nav: { label: 'Staff devices', order: 55 },
  async render(view) {
    const user = h('input', {
      name: 'user',
      autocomplete: 'off',
      autocapitalize: 'none',
      spellcheck: 'false',
      value: view.query.get('user') ?? '',
    });
    const wipe = h('input', { type: 'checkbox', name: 'markDevicesLost' });
    const status = h('div', { class: 'form-status' });
    const list = h('div', { class: 'device-list' });
    const load = async () => {
      const name = user.value.trim();
      const devices = await view.api.get<StaffDevice[]>(
        `/staff-devices${name ? `?username=${encodeURIComponent(name)}` : ''}`,
        view.signal,
      );
      const byUser = new Map<string, StaffDevice[]>();
      for (const d of devices) byUser.set(d.username, [...(byUser.get(d.username) ?? []), d]);
      replace(
        list,
        devices.length === 0
          ? notice('info', 'No devices.')
          : [...byUser].map(([username, own]) =>
              h(
                'div',
                { class: 'user-devices' },
                h('h2', null, username),
                own.map((d) =>
                  staffDeviceCard(d, { api: view.api, canRename: false, changed: () => void load() }),
                ),
              ),
            ),
      );
    };
    const filter = h(
      'form',
      { class: 'filters', role: 'search' },
      labelled('User', user),
      h('button', { type: 'submit' }, 'Show'),
    );
    filter.addEventListener('submit', (event) => {
      event.preventDefault();
      void load().catch((err: unknown) => status.replaceChildren(notice('error', (err as Error).message)));
    });
    const leaver = h(
      'div',
      { class: 'card' },
      h('h2', null, 'Sign a user out everywhere'),
      h('p', null, 'For someone who leaves, or whose account may be misused. Enter the user above first.'),
      h(
        'div',
        { class: 'field checkbox' },
        wipe,
        h(
          'label',
          { for: 'mark-lost' },
          'Also mark all their devices lost (each erases this site’s data when it next connects)',
        ),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          onclick: () => {
            const name = user.value.trim();
            if (!name) {
              status.replaceChildren(notice('error', 'Enter the user first.'));
              return;
            }
            void confirmAction({
              title: `Sign ${name} out everywhere?`,
              text: 'Every session of this user ends now, on every device.',
              reason: true,
              action: 'Sign out everywhere',
              danger: true,
              run: (reason) =>
                view.api.post(`/users/${encodeURIComponent(name)}/sign-out-everywhere`, {
                  reason,
                  markDevicesLost: wipe.checked,
                }),
            }).then((done) => done && void load());
          },
        },
        'Sign out everywhere',
      ),
    );
    wipe.id = 'mark-lost';
    view.root.append(pageHeader('Staff devices'), filter, status, leaver, list);
    await load();
  },
};
