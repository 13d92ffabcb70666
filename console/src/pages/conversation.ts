// One conversation (clinician): its messages with receipts, updated live; compose (normal or
// urgent, with the alert attached when opened through "Discuss"); recall of one's own messages;
// and, in a patient conversation, file selected messages to the chart.
import { formatTime, h, notice, replace } from '../dom.js';
import { fileToChart } from '../messaging/file-to-chart.js';
import { listenToConversations } from '../messaging/stream.js';
import type { Page } from '../page.js';

interface Summary {
  id: string;
  kind: 'patient' | 'direct';
  patientId: string | null;
  members: string[];
  lifespanHours: number;
}

interface Message {
  id: number;
  sender: string;
  priority: 'normal' | 'urgent';
  sentAt: string;
  body: string;
  ref: { kind: 'alert'; alertId: number } | { kind: 'readings'; from: string; to: string } | null;
  receipts: { username: string; deliveredAt: string | null; readAt: string | null }[];
}

function refText(ref: Message['ref']): string | null {
  if (!ref) return null;
  return ref.kind === 'alert'
    ? `About alert ${ref.alertId}`
    : `About readings ${formatTime(ref.from)} – ${formatTime(ref.to)}`;
}

function receiptText(m: Message): string {
  const read = m.receipts.filter((r) => r.readAt).map((r) => r.username);
  const delivered = m.receipts.filter((r) => r.deliveredAt && !r.readAt).map((r) => r.username);
  return [
    read.length ? `Read by ${read.join(', ')}` : '',
    delivered.length ? `Delivered to ${delivered.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

export const conversationPage: Page = {
  path: '/conversations/:id',
  title: 'Conversation',
  roles: ['clinician'],
  async render(view) {
    const id = view.params.id!;
    const me = view.session!.username;
    const path = `/conversations/${encodeURIComponent(id)}`;
    const summary = await view.api.get<Summary>(path, view.signal);
    let title = 'Direct conversation';
    if (summary.patientId) {
      const patients = await view.api.get<{ id: string; name: string }[]>('/patients', view.signal);
      title = `About ${patients.find((p) => p.id === summary.patientId)?.name ?? 'a patient'}`;
    }
    const list = h('ol', { class: 'list', 'aria-label': 'Messages', 'aria-live': 'polite' });
    const selected = new Set<number>();
    const status = h('div', { role: 'status' });

    const load = async () => {
      const { messages } = await view.api.get<{ messages: Message[] }>(`${path}/messages`, view.signal);
      if (view.signal.aborted) return;
      replace(
        list,
        messages.length === 0
          ? h('li', null, notice('info', 'No messages yet.'))
          : messages.map((m) => {
              const choose = h('input', {
                type: 'checkbox',
                id: `file-${m.id}`,
                checked: selected.has(m.id),
              });
              choose.addEventListener('change', () =>
                choose.checked ? selected.add(m.id) : selected.delete(m.id),
              );
              const recall = h('button', { type: 'button', class: 'button' }, 'Recall');
              recall.addEventListener('click', () => {
                view.api
                  .delete(`${path}/messages/${m.id}`)
                  .then(() => load())
                  .catch((err: unknown) =>
                    replace(
                      status,
                      notice('error', err instanceof Error ? err.message : 'Could not recall.'),
                    ),
                  );
              });
              return h(
                'li',
                { 'data-message': m.id },
                h(
                  'div',
                  { class: 'row' },
                  h('strong', null, m.sender === me ? 'You' : m.sender),
                  m.priority === 'urgent' ? h('span', { class: 'badge badge-critical' }, 'urgent') : null,
                  h('span', { class: 'meta' }, formatTime(m.sentAt)),
                ),
                h('p', { class: 'message-body' }, m.body),
                refText(m.ref) ? h('p', { class: 'meta' }, refText(m.ref)) : null,
                h('p', { class: 'meta' }, receiptText(m)),
                h(
                  'div',
                  { class: 'actions' },
                  summary.kind === 'patient'
                    ? h(
                        'div',
                        { class: 'field checkbox inline' },
                        choose,
                        h('label', { for: `file-${m.id}` }, 'Select for chart'),
                      )
                    : null,
                  m.sender === me ? recall : null,
                ),
              );
            }),
      );
      const last = messages.at(-1);
      if (last && last.sender !== me) await view.api.post(`${path}/read`, { upTo: last.id }).catch(() => {});
    };

    const alertId = Number(view.query.get('alert') ?? '');
    let attach = Number.isInteger(alertId) && alertId > 0 ? alertId : null;
    const attached = h('p', { class: 'meta' });
    const showAttached = () => {
      if (attach === null) return replace(attached);
      const remove = h('button', { type: 'button', class: 'button' }, 'Remove');
      remove.addEventListener('click', () => {
        attach = null;
        showAttached();
      });
      replace(attached, `Alert ${attach} attached `, remove);
    };
    showAttached();
    const body = h('textarea', {
      id: 'message-body',
      name: 'body',
      rows: 3,
      maxlength: 2000,
      required: true,
    });
    const urgent = h('input', { type: 'checkbox', id: 'message-urgent', name: 'urgent' });
    const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
    const compose = h(
      'form',
      { class: 'card', 'aria-label': 'Write a message' },
      attached,
      h('div', { class: 'field' }, h('label', { for: 'message-body' }, 'Message'), body),
      h('div', { class: 'field checkbox inline' }, urgent, h('label', { for: 'message-urgent' }, 'Urgent')),
      send,
    );
    compose.addEventListener('submit', (event) => {
      event.preventDefault();
      send.disabled = true;
      view.api
        .post(`${path}/messages`, {
          body: body.value,
          priority: urgent.checked ? 'urgent' : 'normal',
          ...(attach !== null ? { ref: { kind: 'alert', alertId: attach } } : {}),
        })
        .then(() => {
          body.value = '';
          urgent.checked = false;
          attach = null;
          showAttached();
          replace(status);
          return load();
        })
        .catch((err: unknown) =>
          replace(status, notice('error', err instanceof Error ? err.message : 'Could not send.')),
        )
        .finally(() => (send.disabled = false));
    });

    view.root.append(
      h(
        'div',
        { class: 'page-head' },
        h('h1', null, title),
        h(
          'p',
          { class: 'meta' },
          `Members: ${summary.members.join(', ')} · messages kept ${summary.lifespanHours} h`,
        ),
        summary.patientId
          ? h(
              'a',
              { href: `#/patients/${encodeURIComponent(summary.patientId)}/rpm?from=messaging` },
              'Log treatment time',
            )
          : null,
      ),
      list,
      status,
      compose,
    );
    if (summary.kind === 'patient') view.root.append(fileToChart(view.api, id, () => [...selected]));
    await load();
    listenToConversations(view.signal, (_kind, n) => {
      // My own receipts change nothing on my screen.
      if (n.conversationId === id && n.username !== me) void load().catch(() => {});
    });
  },
};
