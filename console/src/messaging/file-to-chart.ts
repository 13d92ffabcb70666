// File to chart: the chosen messages are shown exactly as they would be filed (the preview), and
// only a confirmation of that preview (its digest) files them to the patient's record.
import type { ApiClient } from '../api.js';
import { formatTime, h, notice, replace } from '../dom.js';

interface Excerpt {
  digest: string;
  messages: { id: number; sender: string; sentAt: string; body: string }[];
}

export function fileToChart(api: ApiClient, conversationId: string, chosen: () => number[]): HTMLElement {
  const area = h('div', { role: 'status' });
  const base = `/conversations/${encodeURIComponent(conversationId)}/filings`;
  const button = h('button', { type: 'button', class: 'button' }, 'File selected to chart');
  const fail = (err: unknown) =>
    replace(area, notice('error', err instanceof Error ? err.message : 'Could not file to the chart.'));
  button.addEventListener('click', () => {
    const messageIds = chosen();
    if (messageIds.length === 0) {
      replace(area, notice('info', 'Select the messages to file first.'));
      return;
    }
    api
      .post<Excerpt>(`${base}/preview`, { messageIds })
      .then((excerpt) => {
        const confirm = h('button', { type: 'button', class: 'primary' }, 'Confirm filing');
        const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
        confirm.addEventListener('click', () => {
          confirm.disabled = true;
          api
            .post(base, { messageIds, confirm: excerpt.digest })
            .then(() =>
              replace(area, notice('ok', `Filed ${excerpt.messages.length} message(s) to the record.`)),
            )
            .catch(fail);
        });
        cancel.addEventListener('click', () => replace(area));
        replace(
          area,
          h(
            'section',
            { class: 'card', 'aria-label': 'What will be filed' },
            h('h2', null, 'File to the record exactly this?'),
            h(
              'ol',
              { class: 'list' },
              excerpt.messages.map((m) =>
                h(
                  'li',
                  null,
                  h('p', { class: 'meta' }, `${m.sender}, ${formatTime(m.sentAt)}`),
                  h('p', null, m.body),
                ),
              ),
            ),
            h('div', { class: 'actions' }, confirm, cancel),
          ),
        );
      })
      .catch(fail);
  });
  return h('div', null, button, area);
}
