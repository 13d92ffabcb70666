// "Discuss" on an alert: opens (or reuses) the patient's conversation and goes there with the
// alert attached to the next message.
import type { ApiClient } from '../api.js';
import { h, notice } from '../dom.js';

export function discussButton(
  api: ApiClient,
  alertId: number,
  navigate: (path: string) => void,
): HTMLElement {
  const status = h('span', { role: 'status' });
  const button = h('button', { type: 'button', class: 'button', 'data-discuss': alertId }, 'Discuss');
  button.addEventListener('click', () => {
    button.disabled = true;
    api
      .post<{ conversation: { id: string } }>('/conversations/discuss', { alertId })
      .then((r) => navigate(`/conversations/${encodeURIComponent(r.conversation.id)}?alert=${alertId}`))
      .catch((err: unknown) => {
        status.replaceChildren(notice('error', err instanceof Error ? err.message : 'Could not open.'));
        button.disabled = false;
      });
  });
  return h('span', { class: 'row' }, button, status);
}
