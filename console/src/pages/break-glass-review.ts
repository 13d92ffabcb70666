// Break-glass grants and their reviews (auditor). Written with the operator, auditor and admin
// pages; see docs/CONSOLE.md. Every grant with who, which patient, the stated reason, when and
// its state, unreviewed first; a review with a note is recorded in the audit log as
// break_glass.review (what check VG-API-005 reads).
import { formatTime, h, notice, replace } from '../dom.js';
import type { Page, PageView } from '../page.js';
import { labelled, pageHeader } from '../ui.js';

interface Grant {
  id: number;
  username: string;
  patientId: string;
  reason: string;
  source: string | null;
  grantedAt: string;
  expiresAt: string;
  endedAt: string | null;
  state: 'active' | 'expired' | 'ended';
  review: { at: string; by: string; note: string } | null;
}

const STATE_BADGE: Record<Grant['state'], string> = {
  active: 'badge-critical',
  expired: 'badge-muted',
  ended: 'badge-muted',
};

function reviewForm(view: PageView, grant: Grant, done: () => void): HTMLFormElement {
  const note = h('textarea', { id: `review-note-${grant.id}`, maxlength: 500, rows: 2 });
  const status = h('div', { class: 'form-status' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Record review');
  const form = h(
    'form',
    { class: 'ack-form', novalidate: true },
    labelled(`Review note for grant ${grant.id} (what you checked)`, note),
    status,
    button,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (note.value.trim().length < 3) {
      status.replaceChildren(notice('error', 'Write what you checked, in a few words.'));
      return;
    }
    button.disabled = true;
    view.api
      .post(`/break-glass/grants/${grant.id}/review`, { note: note.value.trim() })
      .then(done)
      .catch((err: unknown) => {
        status.replaceChildren(
          notice('error', err instanceof Error ? err.message : 'The review was not recorded.'),
        );
        button.disabled = false;
      });
  });
  return form;
}

function grantItem(view: PageView, g: Grant, reload: () => void): HTMLElement {
  return h(
    'li',
    { 'data-grant': g.id },
    h(
      'div',
      { class: 'row' },
      h('span', { class: `badge ${STATE_BADGE[g.state]}` }, g.state),
      h('strong', null, `#${g.id} ${g.username}`),
      h('span', null, `→ ${g.patientId}`),
      g.review
        ? h('span', { class: 'badge badge-ok' }, 'reviewed')
        : h('span', { class: 'badge badge-high' }, 'not reviewed'),
    ),
    h('p', null, h('strong', null, 'Reason: '), g.reason),
    h(
      'p',
      { class: 'meta' },
      `Granted ${formatTime(g.grantedAt)} from ${g.source ?? 'an unknown address'} · ` +
        (g.endedAt ? `ended ${formatTime(g.endedAt)}` : `until ${formatTime(g.expiresAt)}`),
    ),
    g.review
      ? h(
          'p',
          { class: 'meta' },
          `Reviewed ${formatTime(g.review.at)} by ${g.review.by.replace(/^user:/, '')}: ${g.review.note}`,
        )
      : reviewForm(view, g, reload),
  );
}

export const breakGlassReviewPage: Page = {
  path: '/break-glass',
  title: 'Break-glass reviews',
  roles: ['auditor'],
  nav: { label: 'Break-glass', order: 41 },
  async render(view) {
    const status = h('p', { class: 'meta', role: 'status' });
    const out = h('div', { 'aria-live': 'polite' });
    const list = h('ul', { class: 'list', 'aria-label': 'Break-glass grants' });
    const load = async () => {
      const grants = await view.api.get<Grant[]>('/break-glass/grants?limit=500', view.signal);
      if (view.signal.aborted) return;
      grants.sort((a, b) => Number(a.review !== null) - Number(b.review !== null) || b.id - a.id);
      const waiting = grants.filter((g) => !g.review).length;
      status.textContent = `${grants.length} grant${grants.length === 1 ? '' : 's'} · ${waiting} not reviewed`;
      replace(
        list,
        grants.length === 0
          ? h('li', null, notice('ok', 'No break-glass access has been used.'))
          : grants.map((g) =>
              grantItem(
                view,
                g,
                () =>
                  void load().then(() =>
                    replace(out, notice('ok', `Your review of grant ${g.id} is recorded.`)),
                  ),
              ),
            ),
      );
    };
    view.root.append(pageHeader('Break-glass grants', status), out, list);
    await load();
  },
};
