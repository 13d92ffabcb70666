// The audit log (auditor): filters (actor, action, patient, outcome, time), paging to older
// entries, and "verify chain", which walks the hash chain and names the first entry that does
// not fit. Break-glass grants are the entries with action phi.break_glass.
import { formatTime, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { labelled, pageHeader, select, table } from '../ui.js';

interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  source: string | null;
  details: Record<string, unknown> | null;
}
interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBad?: { seq: number; problem?: string };
  /** Entries removed by the retention policy (not a break). */
  pruned?: { entries: number; throughSeq: number; at: string };
}

const PAGE = 50;

/** What retention pruned, said as policy and not as tampering. */
function prunedText(r: VerifyResult): string {
  if (!r.pruned) return '';
  return ` ${r.pruned.entries} older entries (#1 to #${r.pruned.throughSeq}) were removed by the retention policy on ${formatTime(r.pruned.at)}; that is policy, not tampering.`;
}

export const auditPage: Page = {
  path: '/audit',
  title: 'Audit log',
  roles: ['auditor'],
  nav: { label: 'Audit log', order: 40 },
  async render(view) {
    const actor = h('input', { name: 'actor', autocomplete: 'off', placeholder: 'user:dr.grey' });
    const action = h('input', { name: 'action', autocomplete: 'off', placeholder: 'phi.break_glass' });
    const patient = h('input', { name: 'patient', autocomplete: 'off', placeholder: 'pat_…' });
    const outcome = select('outcome', [
      ['', 'Any outcome'],
      ['success', 'success'],
      ['failure', 'failure'],
      ['denied', 'denied'],
    ]);
    const from = h('input', { type: 'datetime-local', name: 'from' });
    const to = h('input', { type: 'datetime-local', name: 'to' });
    const list = h('div');
    const verifyResult = h('div', { role: 'status' });
    const pager = h('div', { class: 'pager' });
    const pages: (number | undefined)[] = [undefined];
    const load = async () => {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (actor.value.trim()) q.set('actor', actor.value.trim());
      if (action.value.trim()) q.set('action', action.value.trim());
      if (patient.value.trim()) q.set('target', `patient:${patient.value.trim()}`);
      if (outcome.value) q.set('outcome', outcome.value);
      if (from.value) q.set('from', new Date(from.value).toISOString());
      if (to.value) q.set('to', new Date(to.value).toISOString());
      const before = pages.at(-1);
      if (before !== undefined) q.set('beforeSeq', String(before));
      const entries = await view.api.get<AuditEntry[]>(`/audit?${q}`, view.signal);
      replace(
        list,
        table<AuditEntry>(
          'Audit entries',
          [
            { label: '#', cell: (e) => String(e.seq) },
            { label: 'When', cell: (e) => formatTime(e.at) },
            { label: 'Actor', cell: (e) => e.actor },
            { label: 'Action', cell: (e) => e.action },
            { label: 'Target', cell: (e) => e.target ?? '–' },
            {
              label: 'Outcome',
              cell: (e) =>
                h(
                  'span',
                  { class: `badge ${e.outcome === 'success' ? 'badge-ok' : 'badge-high'}` },
                  e.outcome,
                ),
            },
            { label: 'Source', cell: (e) => e.source ?? '–' },
            { label: 'Details', cell: (e) => h('code', null, e.details ? JSON.stringify(e.details) : '') },
          ],
          entries,
          (e) => ({ 'data-seq': String(e.seq) }),
        ),
      );
      const newer = h('button', { type: 'button', disabled: pages.length === 1 }, 'Newer');
      const older = h('button', { type: 'button', disabled: entries.length < PAGE }, 'Older');
      newer.addEventListener('click', () => {
        pages.pop();
        void load();
      });
      older.addEventListener('click', () => {
        pages.push(entries.at(-1)!.seq);
        void load();
      });
      replace(pager, newer, older);
    };
    const form = h(
      'form',
      { class: 'filters', role: 'search' },
      labelled('Actor', actor),
      labelled('Action', action),
      labelled('Patient id', patient),
      labelled('Outcome', outcome),
      labelled('From', from),
      labelled('To', to),
      h('button', { type: 'submit' }, 'Filter'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      pages.splice(1);
      void load();
    });
    const verify = h('button', { type: 'button', class: 'primary' }, 'Verify chain');
    verify.addEventListener('click', () => {
      verify.disabled = true;
      view.api
        .get<VerifyResult>('/audit/verify')
        .then((r) =>
          replace(
            verifyResult,
            r.ok
              ? notice('ok', `The audit chain is intact: ${r.checked} entries checked.${prunedText(r)}`)
              : notice(
                  'error',
                  `The audit chain is broken at entry #${r.firstBad?.seq}${r.firstBad?.problem ? ` (${r.firstBad.problem.replace(/_/g, ' ')})` : ''}: it was changed, removed or reordered after it was written. ${r.checked} entries checked.${prunedText(r)}`,
                ),
          ),
        )
        .catch((err: unknown) =>
          replace(verifyResult, notice('error', err instanceof Error ? err.message : 'Verification failed.')),
        )
        .finally(() => (verify.disabled = false));
    });
    view.root.append(pageHeader('Audit log', verify), verifyResult, form, list, pager);
    await load();
  },
};
