// Messages (clinician): the conversations I am in, newest first, with unread counts (never a
// preview of the text), updated live; and a form to start a direct conversation with colleagues.
import { formatAge, h, notice, replace } from '../dom.js';
import { listenToConversations } from '../messaging/stream.js';
import type { Page } from '../page.js';

interface Summary {
  id: string;
  kind: 'patient' | 'direct';
  patientId: string | null;
  lastMessageAt: string | null;
  createdAt: string;
  unread: number;
  members: string[];
}

export const conversationsPage: Page = {
  path: '/conversations',
  title: 'Messages',
  roles: ['clinician'],
  nav: { label: 'Messages', order: 3 },
  async render(view) {
    const me = view.session!.username;
    const list = h('ul', { class: 'list', 'aria-label': 'Conversations' });
    const live = h('p', { class: 'meta', role: 'status' });
    const names = new Map<string, string>();
    const load = async () => {
      const [{ conversations }, patients] = await Promise.all([
        view.api.get<{ conversations: Summary[] }>('/conversations', view.signal),
        names.size
          ? Promise.resolve(null)
          : view.api.get<{ id: string; name: string }[]>('/patients', view.signal),
      ]);
      for (const p of patients ?? []) names.set(p.id, p.name);
      if (view.signal.aborted) return;
      replace(
        list,
        conversations.length === 0
          ? h('li', null, notice('info', 'No conversations yet. Open one from a patient or an alert.'))
          : conversations.map((c) =>
              h(
                'li',
                { 'data-conversation': c.id },
                h(
                  'div',
                  { class: 'row' },
                  h(
                    'a',
                    { href: `#/conversations/${encodeURIComponent(c.id)}` },
                    c.kind === 'patient'
                      ? `About ${names.get(c.patientId ?? '') ?? 'a patient'}`
                      : `With ${c.members.filter((m) => m !== me).join(', ')}`,
                  ),
                  c.unread > 0 ? h('span', { class: 'badge badge-high' }, `${c.unread} unread`) : null,
                ),
                h(
                  'p',
                  { class: 'meta' },
                  c.lastMessageAt ? `Last message ${formatAge(c.lastMessageAt)}` : 'No messages yet',
                ),
              ),
            ),
      );
    };

    const colleagues = h('input', {
      id: 'direct-members',
      name: 'members',
      autocomplete: 'off',
      placeholder: 'dr.smith, nurse.jones',
    });
    const status = h('div', { role: 'status' });
    const start = h(
      'form',
      { class: 'card', 'aria-label': 'Start a direct conversation' },
      h('h2', null, 'Start a direct conversation'),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'direct-members' }, 'Colleagues (usernames, separated by commas)'),
        colleagues,
      ),
      status,
      h('button', { type: 'submit', class: 'primary' }, 'Start conversation'),
    );
    start.addEventListener('submit', (event) => {
      event.preventDefault();
      const members = colleagues.value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      view.api
        .post<{ id: string }>('/conversations', { members })
        .then((c) => view.navigate(`/conversations/${encodeURIComponent(c.id)}`))
        .catch((err: unknown) =>
          status.replaceChildren(notice('error', err instanceof Error ? err.message : 'Could not start it.')),
        );
    });

    view.root.append(h('div', { class: 'row' }, h('h1', null, 'Messages'), live), list, start);
    await load();
    listenToConversations(view.signal, (_kind, n) => {
      if (n.username === me) return;
      if (n.notice) live.textContent = n.notice;
      void load().catch(() => {});
    });
  },
};
