// Snooze and resolve on an alert, each with a reason: two small forms behind a disclosure, so the
// queue stays short on a phone. Snooze stops notifications for the chosen time (the alert
// notifies again at the end if still active); resolve ends it (a new breach raises a new one).
// Reasons are clinical text: the API seals them under the patient's key.
import type { ApiClient } from './api.js';
import { h, notice } from './dom.js';
import { labelled, select } from './ui.js';

const SNOOZE_CHOICES = [
  ['15', '15 minutes'],
  ['30', '30 minutes'],
  ['60', '1 hour'],
  ['120', '2 hours'],
  ['240', '4 hours'],
] as const;

function reasonField(): HTMLTextAreaElement {
  return h('textarea', { name: 'reason', rows: 2, maxlength: 500, minlength: 3, required: true });
}

function actionForm(
  label: string,
  fields: HTMLElement[],
  reason: HTMLTextAreaElement,
  run: () => Promise<unknown>,
  done: (what: string) => void,
): HTMLFormElement {
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit' }, label);
  const form = h('form', { class: 'alert-action', novalidate: true }, ...fields, status, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (reason.value.trim().length < 3) {
      status.replaceChildren(notice('error', 'Please give a reason (at least 3 characters).'));
      reason.focus();
      return;
    }
    button.disabled = true;
    run()
      .then(() => done(label))
      .catch((err: unknown) => {
        status.replaceChildren(notice('error', err instanceof Error ? err.message : `Could not ${label}.`));
        button.disabled = false;
      });
  });
  return form;
}

/** "Snooze or resolve" for one alert; `done` is told which happened. */
export function alertActions(api: ApiClient, alertId: number, done: (what: string) => void): HTMLElement {
  const minutes = select('minutes', SNOOZE_CHOICES, '30');
  const snoozeReason = reasonField();
  const resolveReason = reasonField();
  const snooze = actionForm(
    'Snooze',
    [labelled('Snooze for', minutes), labelled('Reason for snoozing', snoozeReason)],
    snoozeReason,
    () =>
      api.post(`/alerts/${alertId}/snooze`, {
        minutes: Number(minutes.value),
        reason: snoozeReason.value.trim(),
      }),
    done,
  );
  const resolve = actionForm(
    'Resolve',
    [labelled('Reason for resolving', resolveReason, 'A breach that goes on raises a new alert.')],
    resolveReason,
    () => api.post(`/alerts/${alertId}/resolve`, { reason: resolveReason.value.trim() }),
    done,
  );
  return h(
    'details',
    { class: 'alert-actions', 'data-alert': alertId },
    h('summary', null, 'Snooze or resolve'),
    snooze,
    resolve,
  );
}
