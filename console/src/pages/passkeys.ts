// Security keys & passkeys (every role): the user's passkeys (a phone's fingerprint or face, a
// laptop's, a USB or NFC security key), to add, rename and remove. Adding and removing need a
// fresh confirmation (the step-up dialog opens by itself). When the role requires passkeys and
// the user has none, this is the only page that opens until one is registered.
import { ApiError } from '../api.js';
import { formatTime, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { passkeysSupported, registerPasskey } from '../passkey-ceremony.js';
import { confirmAction, labelled, pageHeader } from '../ui.js';

interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  synced: boolean;
  flagged: boolean;
}

/** A name for a new passkey from the browser's platform ("Android phone", "Mac"). */
function suggestedName(): string {
  const ua = navigator.userAgent;
  const platform = /Android/.test(ua)
    ? 'Android phone'
    : /iPhone|iPad/.test(ua)
      ? 'iPhone or iPad'
      : /Mac OS X/.test(ua)
        ? 'Mac'
        : /Windows/.test(ua)
          ? 'Windows PC'
          : 'This device';
  return `${platform} passkey`;
}

export const passkeysPage: Page = {
  path: '/passkeys',
  title: 'Security keys & passkeys',
  roles: ['clinician', 'engineer', 'admin', 'auditor'],
  nav: { label: 'Passkeys', order: 91 },
  async render(view) {
    const list = h('ul', { class: 'passkey-list', 'aria-label': 'Your passkeys' });
    const status = h('div', { class: 'form-status' });
    const name = h('input', { maxlength: 60, autocomplete: 'off', value: suggestedName() });
    const required = h('div');
    const card = (p: Passkey): HTMLElement => {
      const rename = h('button', { type: 'button', 'aria-label': `Rename ${p.name}` }, 'Rename');
      const remove = h(
        'button',
        { type: 'button', class: 'danger', 'aria-label': `Remove ${p.name}` },
        'Remove',
      );
      rename.addEventListener('click', () => {
        const input = h('input', { maxlength: 60, value: p.name, 'aria-label': 'New name' });
        const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
        const form = h('form', { class: 'row' }, input, save);
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          view.api.request('PATCH', `/auth/passkeys/${p.id}`, { name: input.value.trim() }).then(
            () => void load(),
            (err: unknown) => status.replaceChildren(notice('error', (err as Error).message)),
          );
        });
        rename.replaceWith(form);
        input.focus();
      });
      remove.addEventListener('click', () => {
        void confirmAction({
          title: `Remove ${p.name}?`,
          text: 'This passkey will not sign you in any more. You can add it again later.',
          action: 'Remove',
          danger: true,
          run: () => view.api.delete(`/auth/passkeys/${p.id}`),
        }).then((done) => {
          if (done) void load();
        });
      });
      return h(
        'li',
        { class: 'card passkey', 'data-passkey': p.id },
        h('h2', null, p.name),
        p.flagged
          ? notice('error', 'Blocked: this passkey looked copied (its counter went backwards). Remove it.')
          : null,
        h(
          'p',
          { class: 'hint' },
          `Added ${formatTime(p.createdAt)} · ${p.lastUsedAt ? `last used ${formatTime(p.lastUsedAt)}` : 'not used yet'}${p.synced ? ' · synced' : ''}`,
        ),
        h('div', { class: 'row' }, rename, remove),
      );
    };
    const load = async () => {
      const mine = await view.api.get<{ passkeys: Passkey[]; required: boolean }>(
        '/auth/passkeys',
        view.signal,
      );
      replace(
        list,
        mine.passkeys.length === 0
          ? h('li', null, notice('info', 'You have no passkeys yet.'))
          : mine.passkeys.map(card),
      );
      replace(
        required,
        mine.required && mine.passkeys.length === 0
          ? notice('error', 'Your role signs in with a passkey. Add one now to open the rest of VitalGate.')
          : null,
      );
      return mine;
    };
    const add = h('button', { type: 'submit', class: 'primary' }, 'Add a passkey');
    const form = h(
      'form',
      { class: 'card' },
      h('h2', null, 'Add a passkey'),
      labelled('Name', name),
      status,
      add,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      add.disabled = true;
      status.replaceChildren();
      const wasRequired = view.session?.passkeyRequired === true;
      registerPasskey(view.api, name.value.trim() || suggestedName())
        .then(async () => {
          status.replaceChildren(notice('ok', 'Passkey added. You can sign in with it from now on.'));
          await load();
          // The rest of the console opens now: start again with a fresh view of the session.
          if (wasRequired) location.reload();
        })
        .catch((err: unknown) =>
          status.replaceChildren(
            notice(
              'error',
              err instanceof ApiError || err instanceof Error ? err.message : 'That did not work.',
            ),
          ),
        )
        .finally(() => (add.disabled = false));
    });
    view.root.append(
      pageHeader('Security keys & passkeys'),
      required,
      h(
        'p',
        null,
        'A passkey signs you in with your fingerprint, face, PIN or a security key instead of a password and code. It cannot be phished: it only works on this hub. Your authenticator app stays as the fallback.',
      ),
      passkeysSupported() ? form : notice('info', 'This browser cannot use passkeys.'),
      list,
    );
    await load();
  },
};
