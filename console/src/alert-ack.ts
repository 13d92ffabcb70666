// Acknowledging an alert with a note: the same small form on the alert queue and the patient
// view. The note goes to the API with the acknowledgement (sealed there under the patient's key).
import type { ApiClient } from './api.js';
import { h, notice } from './dom.js';

let seq = 0;

export function ackForm(api: ApiClient, alertId: number, done: () => void): HTMLFormElement {
  const id = `ack-note-${alertId}-${++seq}`;
  const note = h('textarea', { id, name: 'note', maxlength: 500, rows: 2 });
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Acknowledge');
  const form = h(
    'form',
    { class: 'ack-form', 'data-alert': alertId },
    h('div', { class: 'field' }, h('label', { for: id }, 'Note (optional)'), note),
    status,
    button,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    const text = note.value.trim();
    api
      .post(`/alerts/${alertId}/ack`, text ? { note: text } : {})
      .then(() => {
        status.replaceChildren(notice('ok', 'Acknowledged.'));
        done();
      })
      .catch((err: unknown) => {
        status.replaceChildren(
          notice('error', err instanceof Error ? err.message : 'Could not acknowledge.'),
        );
        button.disabled = false;
      });
  });
  return form;
}
