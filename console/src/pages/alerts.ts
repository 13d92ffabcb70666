// The alert queue (clinician): open alerts across my patients, most severe and newest first.
// Each can be acknowledged with a note, snoozed or resolved with a reason; its link opens the
// patient at the moment it fired.
import { ackForm } from '../alert-ack.js';
import { alertActions } from '../alert-actions.js';
import { discussButton } from '../messaging/discuss.js';
import { formatAge, formatTime, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { severityBadge } from '../summary.js';
import { ruleLabel } from '../vitals.js';

interface AlertView {
  id: number;
  patientId: string;
  deviceId: string;
  rule: string;
  severity: string;
  status: string;
  raisedAt: string;
  escalation?: { step: number; target: string; at: string } | null;
}

const ESCALATED_TO: Record<string, string> = { 'role:on_call': 'on call', 'role:team_lead': 'the team lead' };

const REFRESH_MS = 15_000;
const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1 };

export const alertsPage: Page = {
  path: '/alerts',
  title: 'Alerts',
  roles: ['clinician'],
  nav: { label: 'Alerts', order: 2 },
  async render(view) {
    const status = h('p', { class: 'meta', role: 'status' });
    const done = h('div', { role: 'status' });
    const list = h('ul', { class: 'list', 'aria-label': 'Open alerts' });
    view.root.append(h('div', { class: 'row' }, h('h1', null, 'Open alerts'), status), done, list);
    const names = new Map<string, string>();
    const load = async () => {
      const [alerts, patients] = await Promise.all([
        view.api.get<AlertView[]>('/alerts?status=open&limit=500', view.signal),
        names.size
          ? Promise.resolve(null)
          : view.api.get<{ id: string; name: string }[]>('/patients', view.signal),
      ]);
      for (const p of patients ?? []) names.set(p.id, p.name);
      if (view.signal.aborted) return;
      alerts.sort(
        (a, b) =>
          (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) ||
          Date.parse(b.raisedAt) - Date.parse(a.raisedAt),
      );
      // A list being acknowledged is not redrawn under the user's fingers.
      if (list.contains(document.activeElement) && document.activeElement !== document.body) return;
      replace(
        list,
        alerts.length === 0
          ? h('li', null, notice('ok', 'No open alerts for your patients.'))
          : alerts.map((a) =>
              h(
                'li',
                { 'data-alert': a.id },
                h(
                  'div',
                  { class: 'row' },
                  severityBadge(a.severity),
                  h('strong', null, ruleLabel(a.rule)),
                  a.escalation
                    ? h(
                        'span',
                        { class: 'badge badge-high' },
                        `Escalated to ${ESCALATED_TO[a.escalation.target] ?? a.escalation.target}`,
                      )
                    : null,
                  h(
                    'a',
                    { href: `#/patients/${encodeURIComponent(a.patientId)}?at=${Date.parse(a.raisedAt)}` },
                    names.get(a.patientId) ?? a.patientId,
                  ),
                ),
                h(
                  'p',
                  { class: 'meta' },
                  `Raised ${formatTime(a.raisedAt)} (${formatAge(a.raisedAt)}) by ${a.deviceId}`,
                ),
                discussButton(view.api, a.id, view.navigate),
                ackForm(view.api, a.id, () => {
                  replace(
                    done,
                    notice(
                      'ok',
                      `Acknowledged: ${ruleLabel(a.rule)} of ${names.get(a.patientId) ?? a.patientId}.`,
                    ),
                  );
                  void load();
                }),
                alertActions(view.api, a.id, (what) => {
                  const who = names.get(a.patientId) ?? a.patientId;
                  replace(done, notice('ok', `${what}d: ${ruleLabel(a.rule)} of ${who}.`));
                  void load();
                }),
              ),
            ),
      );
      status.textContent = `${alerts.length} open · updated ${new Date().toLocaleTimeString()}`;
    };
    await load();
    const timer = window.setInterval(() => void load().catch(() => {}), REFRESH_MS);
    view.signal.addEventListener('abort', () => window.clearInterval(timer));
  },
};
