// Staff accounts (admin): add (the one-time password is shown once), disable and enable,
// unlock, reset password (a new one-time password) and reset MFA.
import { formatTime, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { confirmAction, labelled, pageHeader, select, shownOnce, table } from '../ui.js';

interface UserRow {
  username: string;
  role: string;
  mfaEnrolled: boolean;
  mustChangePassword: boolean;
  locked: boolean;
  disabled: boolean;
  createdAt: string;
}

const ROLES = [
  ['clinician', 'Clinician (patient data of assigned patients)'],
  ['engineer', 'Engineer (devices)'],
  ['auditor', 'Auditor (audit log, checks)'],
  ['admin', 'Administrator (accounts, patients, devices)'],
] as const;

export const usersPage: Page = {
  path: '/users',
  title: 'Accounts',
  roles: ['admin'],
  nav: { label: 'Accounts', order: 50 },
  async render(view) {
    const shown = h('div');
    const list = h('div');
    const username = h('input', {
      name: 'username',
      autocomplete: 'off',
      autocapitalize: 'none',
      spellcheck: 'false',
      required: true,
    });
    const role = select('role', ROLES, 'clinician');
    const status = h('div', { class: 'form-status' });
    const form = h(
      'form',
      { class: 'card' },
      h('h2', null, 'Add an account'),
      h(
        'div',
        { class: 'filters' },
        labelled('Username', username, 'Lower-case letters, digits, . _ -'),
        labelled('Role', role),
      ),
      status,
      h('button', { type: 'submit', class: 'primary' }, 'Add account'),
    );
    const post = (path: string, body?: unknown) =>
      view.api.post<{ oneTimePassword?: string; username?: string }>(path, body);
    const load = async () => {
      const users = await view.api.get<UserRow[]>('/users', view.signal);
      replace(
        list,
        table<UserRow>(
          'Accounts',
          [
            { label: 'Username', cell: (u) => u.username },
            { label: 'Role', cell: (u) => u.role },
            {
              label: 'State',
              cell: (u) =>
                [
                  u.disabled ? 'disabled' : 'enabled',
                  u.locked ? 'locked' : '',
                  u.mustChangePassword ? 'one-time password' : '',
                  u.mfaEnrolled ? 'MFA' : 'no MFA yet',
                ]
                  .filter(Boolean)
                  .join(' · '),
            },
            { label: 'Created', cell: (u) => formatTime(u.createdAt) },
            {
              label: 'Actions',
              cell: (u) => {
                const act = (label: string, run: () => Promise<unknown>, danger = false) =>
                  h(
                    'button',
                    {
                      type: 'button',
                      class: danger ? 'danger' : '',
                      'aria-label': `${label} ${u.username}`,
                      onclick: () => void run(),
                    },
                    label,
                  );
                const buttons = [
                  u.disabled
                    ? act('Enable', () => post(`/users/${u.username}/enable`).then(load))
                    : act(
                        'Disable',
                        () =>
                          confirmAction({
                            title: `Disable ${u.username}`,
                            text: 'The account is signed out everywhere and cannot sign in until enabled.',
                            confirmWord: u.username,
                            reason: true,
                            action: 'Disable',
                            danger: true,
                            run: (reason) => post(`/users/${u.username}/disable`, { reason }),
                          }).then(load),
                        true,
                      ),
                  u.locked ? act('Unlock', () => post(`/users/${u.username}/unlock`).then(load)) : null,
                  act('Reset password', () =>
                    confirmAction({
                      title: `Reset the password of ${u.username}`,
                      text: 'A new one-time password replaces the current one; every session of the account ends.',
                      action: 'Reset password',
                      run: async () => {
                        const r = await post(`/users/${u.username}/reset-password`);
                        replace(
                          shown,
                          shownOnce(`One-time password for ${u.username}`, r.oneTimePassword ?? ''),
                        );
                      },
                    }).then(load),
                  ),
                  act('Reset MFA', () =>
                    confirmAction({
                      title: `Reset MFA of ${u.username}`,
                      text: 'The account enrols a new authenticator at its next sign-in; every session ends.',
                      action: 'Reset MFA',
                      run: () => post(`/users/${u.username}/reset-mfa`),
                    }).then(load),
                  ),
                ];
                return h('div', { class: 'actions' }, buttons);
              },
            },
          ],
          users,
          (u) => ({ 'data-user': u.username }),
        ),
      );
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      status.replaceChildren();
      post('/users', { username: username.value.trim(), role: role.value })
        .then((r) => {
          replace(shown, shownOnce(`One-time password for ${r.username}`, r.oneTimePassword ?? ''));
          form.reset();
          return load();
        })
        .catch((err: unknown) =>
          status.replaceChildren(notice('error', err instanceof Error ? err.message : 'Could not add it.')),
        );
    });
    view.root.append(pageHeader('Accounts'), shown, form, list);
    await load();
  },
};
