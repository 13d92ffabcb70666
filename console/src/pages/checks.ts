// Deployment checks (engineer, admin, auditor): every check with its status, evidence,
// remediation and references; admins and auditors can run them now.
import { ApiError } from '../api.js';
import { formatTime, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { pageHeader } from '../ui.js';

interface CheckResult {
  id: string;
  title: string;
  severity: string;
  status: 'pass' | 'warn' | 'fail' | 'not_applicable';
  evidence: string;
  remediation?: string;
  references: Record<string, unknown>;
}
interface CheckReport {
  finishedAt: string;
  summary: Record<string, number>;
  failing: boolean;
  results: CheckResult[];
}

const ORDER = { fail: 0, warn: 1, pass: 2, not_applicable: 3 } as const;
const BADGE = {
  fail: 'badge-critical',
  warn: 'badge-high',
  pass: 'badge-ok',
  not_applicable: 'badge-muted',
} as const;

export const checksPage: Page = {
  path: '/checks',
  title: 'Deployment checks',
  roles: ['engineer', 'admin', 'auditor'],
  nav: { label: 'Checks', order: 30 },
  async render(view) {
    const body = h('div');
    const draw = (report: CheckReport | null) => {
      if (!report || !Array.isArray(report.results)) {
        replace(body, notice('info', 'No checks have run yet.'));
        return;
      }
      const results = [...report.results].sort(
        (a, b) => ORDER[a.status] - ORDER[b.status] || a.id.localeCompare(b.id),
      );
      replace(
        body,
        h(
          'p',
          { class: 'meta', role: 'status' },
          `Last run ${formatTime(report.finishedAt)}: `,
          Object.entries(report.summary)
            .map(([k, n]) => `${n} ${k.replace('_', ' ')}`)
            .join(', '),
        ),
        h(
          'ul',
          { class: 'list' },
          results.map((r) =>
            h(
              'li',
              { 'data-check': r.id },
              h(
                'div',
                { class: 'row' },
                h('span', { class: `badge ${BADGE[r.status]}` }, r.status.replace('_', ' ')),
                h('strong', null, `${r.id} · ${r.title}`),
                h('span', { class: 'meta' }, r.severity),
              ),
              h('p', null, r.evidence),
              r.status !== 'pass' && r.remediation
                ? h('p', null, h('strong', null, 'What to do: '), r.remediation)
                : null,
              h(
                'details',
                null,
                h('summary', null, 'References'),
                h(
                  'ul',
                  null,
                  Object.entries(r.references ?? {}).map(([k, v]) =>
                    h('li', null, `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    };
    const run =
      view.session && ['admin', 'auditor'].includes(view.session.role)
        ? h('button', { type: 'button', class: 'primary' }, 'Run now')
        : null;
    run?.addEventListener('click', () => {
      run.disabled = true;
      run.textContent = 'Running…';
      view.api
        .post<CheckReport>('/checks/run')
        .then(draw)
        .catch((err: unknown) =>
          replace(body, notice('error', err instanceof Error ? err.message : 'The checks did not run.')),
        )
        .finally(() => {
          run.disabled = false;
          run.textContent = 'Run now';
        });
    });
    view.root.append(pageHeader('Deployment checks', run), body);
    try {
      draw(await view.api.get<CheckReport | null>('/checks', view.signal));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) draw(null);
      else throw err;
    }
  },
};
