// Security events (engineer, admin, auditor): refusals, quarantines, break-glass, lockouts and
// anomalies, newest first, filtered by kind or device.
import { formatTime, h, replace } from '../dom.js';
import type { Page } from '../page.js';
import { labelled, pageHeader, table } from '../ui.js';

interface SecurityEvent {
  id: number;
  at: string;
  kind: string;
  severity?: string;
  deviceId: string | null;
  details: Record<string, unknown> | null;
}

export const securityPage: Page = {
  path: '/security',
  title: 'Security events',
  roles: ['engineer', 'admin', 'auditor'],
  nav: { label: 'Security', order: 20 },
  async render(view) {
    const kind = h('input', { name: 'kind', autocomplete: 'off', placeholder: 'e.g. break_glass' });
    const device = h('input', { name: 'deviceId', autocomplete: 'off' });
    const list = h('div');
    const form = h(
      'form',
      { class: 'filters', role: 'search' },
      labelled('Kind', kind),
      labelled('Device', device),
      h('button', { type: 'submit' }, 'Filter'),
    );
    const load = async () => {
      const q = new URLSearchParams({ limit: '200' });
      if (kind.value.trim()) q.set('kind', kind.value.trim());
      if (device.value.trim()) q.set('deviceId', device.value.trim());
      const events = await view.api.get<SecurityEvent[]>(`/security/events?${q}`, view.signal);
      replace(
        list,
        table<SecurityEvent>(
          'Security events',
          [
            { label: 'When', cell: (e) => formatTime(e.at) },
            { label: 'Kind', cell: (e) => e.kind },
            { label: 'Severity', cell: (e) => e.severity ?? '–' },
            { label: 'Device', cell: (e) => e.deviceId ?? '–' },
            { label: 'Details', cell: (e) => h('code', null, e.details ? JSON.stringify(e.details) : '') },
          ],
          events,
        ),
      );
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void load();
    });
    view.root.append(pageHeader('Security events'), form, list);
    await load();
  },
};
