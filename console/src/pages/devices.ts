// Devices (engineer, admin): the fleet with status, kind, patient, certificate expiry, last
// seen and network; filters and search; add a device and issue its enrolment token (shown once,
// with a QR code carrying token, enrolment URL and CA fingerprint); revoke, disable,
// quarantine, enable and wipe, each with a typed confirmation and a reason.
import type { ApiClient } from '../api.js';
import { formatAge, formatTime, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { qrImage } from '../qr.js';
import { confirmAction, labelled, pageHeader, select, shownOnce, table } from '../ui.js';
import { KINDS } from '../vitals.js';

interface DeviceRow {
  id: string;
  kind: string;
  model: string | null;
  patientId: string | null;
  status: string;
  statusReason: string | null;
  certificateExpiresAt: string | null;
  connected?: boolean | null;
  lastSeen?: string | null;
  lastAddress?: string | null;
}

const STATUSES = ['pending', 'active', 'disabled', 'quarantined', 'revoked', 'wiped'] as const;
const ACTIONS: Record<string, { label: string; danger: boolean; text: string; from: readonly string[] }> = {
  revoke: {
    label: 'Revoke',
    danger: true,
    text: 'Revoking ends its session at once and its certificate can never be used again. The device must be enrolled anew.',
    from: ['active', 'disabled', 'quarantined', 'pending'],
  },
  disable: {
    label: 'Disable',
    danger: false,
    text: 'The device is disconnected and refused until it is enabled.',
    from: ['active', 'quarantined'],
  },
  quarantine: {
    label: 'Quarantine',
    danger: false,
    text: 'The device is disconnected and held for investigation until it is enabled.',
    from: ['active', 'disabled'],
  },
  enable: {
    label: 'Enable',
    danger: false,
    text: 'The device may connect again.',
    from: ['disabled', 'quarantined'],
  },
  wipe: {
    label: 'Wipe',
    danger: true,
    text: 'A signed wipe command erases the key and buffered data on the device, then its certificate is revoked.',
    from: ['active'],
  },
};

async function caFingerprint(): Promise<string> {
  const pem = await (await fetch('/pki/ca.pem', { cache: 'no-store' })).text();
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)];
  const root = blocks.at(-1)?.[1]?.replace(/\s+/g, '') ?? '';
  const der = Uint8Array.from(atob(root), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', der));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

async function enrolmentCard(api: ApiClient, deviceId: string): Promise<HTMLElement> {
  const issued = await api.post<{ deviceId: string; token: string; expiresAt: string }>(
    `/devices/${encodeURIComponent(deviceId)}/enrollment-token`,
    {},
  );
  const payload = JSON.stringify({
    v: 1,
    deviceId,
    token: issued.token,
    enroll: `${location.origin}/api/v1/enroll`,
    caSha256: await caFingerprint(),
  });
  return shownOnce(
    `Enrolment token for ${deviceId}`,
    issued.token,
    h(
      'div',
      null,
      h(
        'p',
        null,
        `Valid until ${formatTime(issued.expiresAt)}. Scan the code with the device's set-up app:`,
      ),
      h('div', { class: 'qr-box' }, qrImage(payload, `QR code to enrol ${deviceId}`)),
    ),
  );
}

function addDeviceForm(api: ApiClient, done: (card: HTMLElement) => void): HTMLElement {
  const id = h('input', {
    name: 'id',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'none',
    required: true,
  });
  const kind = select('kind', Object.entries(KINDS), 'wearable');
  const model = h('input', { name: 'model', autocomplete: 'off' });
  const patient = h('input', {
    name: 'patientId',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'pat_…',
  });
  const status = h('div', { class: 'form-status' });
  const form = h(
    'form',
    { class: 'card' },
    h('h2', null, 'Add a device'),
    h(
      'div',
      { class: 'filters' },
      labelled('Device id', id, 'Letters, digits, dashes; e.g. ox-17'),
      labelled('Kind', kind),
      labelled('Model (optional)', model),
      labelled('Patient id (optional)', patient),
    ),
    status,
    h('button', { type: 'submit', class: 'primary' }, 'Add and issue enrolment token'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.replaceChildren();
    const body = {
      id: id.value.trim(),
      kind: kind.value,
      ...(model.value.trim() ? { model: model.value.trim() } : {}),
      ...(patient.value.trim() ? { patientId: patient.value.trim() } : {}),
    };
    api
      .post('/devices', body)
      .then(() => enrolmentCard(api, body.id))
      .then((card) => {
        form.reset();
        done(card);
      })
      .catch((err: unknown) =>
        status.replaceChildren(notice('error', err instanceof Error ? err.message : 'Could not add it.')),
      );
  });
  return form;
}

export const devicesPage: Page = {
  path: '/devices',
  title: 'Devices',
  roles: ['engineer', 'admin'],
  nav: { label: 'Devices', order: 10 },
  async render(view) {
    const search = h('input', { type: 'search', name: 'q', autocomplete: 'off' });
    const status = select('status', [['', 'Any status'], ...STATUSES.map((s) => [s, s] as const)]);
    const kind = select('kind', [['', 'Any kind'], ...Object.entries(KINDS)]);
    const result = h('div', { class: 'result' });
    const list = h('div');
    const addBox = h('div');
    const addButton = h('button', { type: 'button', class: 'primary' }, 'Add device');
    addButton.addEventListener('click', () => {
      replace(
        addBox,
        addDeviceForm(view.api, (card) => {
          replace(addBox, card);
          void load();
        }),
      );
      addBox.querySelector('input')?.focus();
    });
    let rows: DeviceRow[] = [];
    const draw = () => {
      const q = search.value.trim().toLowerCase();
      const shown = rows.filter(
        (d) =>
          (!kind.value || d.kind === kind.value) &&
          (!q ||
            d.id.toLowerCase().includes(q) ||
            (d.patientId ?? '').toLowerCase().includes(q) ||
            (d.model ?? '').toLowerCase().includes(q)),
      );
      replace(
        list,
        h('p', { class: 'meta', role: 'status' }, `${shown.length} of ${rows.length} devices`),
        table<DeviceRow>(
          'Devices',
          [
            { label: 'Device', cell: (d) => h('code', null, d.id) },
            { label: 'Kind', cell: (d) => KINDS[d.kind] ?? d.kind },
            {
              label: 'Status',
              cell: (d) =>
                h(
                  'span',
                  {
                    class: `badge ${d.status === 'active' ? 'badge-ok' : d.status === 'pending' ? 'badge-muted' : 'badge-high'}`,
                    'data-status': d.status,
                  },
                  d.status,
                ),
            },
            {
              label: 'Session',
              cell: (d) => (d.connected === true ? 'connected' : d.connected === false ? 'offline' : '–'),
            },
            { label: 'Patient', cell: (d) => d.patientId ?? '–' },
            {
              label: 'Certificate expires',
              cell: (d) => (d.certificateExpiresAt ? formatTime(d.certificateExpiresAt) : '–'),
            },
            { label: 'Last seen', cell: (d) => (d.lastSeen ? formatAge(d.lastSeen) : '–') },
            { label: 'Network', cell: (d) => d.lastAddress ?? '–' },
            {
              label: 'Actions',
              cell: (d) =>
                h(
                  'div',
                  { class: 'actions' },
                  Object.entries(ACTIONS)
                    .filter(([, a]) => a.from.includes(d.status))
                    .map(([verb, a]) =>
                      h(
                        'button',
                        {
                          type: 'button',
                          class: a.danger ? 'danger' : '',
                          'aria-label': `${a.label} ${d.id}`,
                          onclick: () =>
                            void confirmAction({
                              title: `${a.label} ${d.id}`,
                              text: a.text,
                              confirmWord: d.id,
                              reason: true,
                              action: a.label,
                              danger: a.danger,
                              run: (reason) =>
                                view.api.post(`/devices/${encodeURIComponent(d.id)}/${verb}`, { reason }),
                            }).then((ran) => {
                              if (!ran) return;
                              replace(result, notice('ok', `${a.label}: done for ${d.id}.`));
                              void load();
                            }),
                        },
                        a.label,
                      ),
                    ),
                  d.status === 'pending'
                    ? h(
                        'button',
                        {
                          type: 'button',
                          'aria-label': `New enrolment token for ${d.id}`,
                          onclick: () =>
                            void enrolmentCard(view.api, d.id)
                              .then((card) => replace(addBox, card))
                              .catch((err: unknown) =>
                                replace(
                                  result,
                                  notice('error', err instanceof Error ? err.message : 'Failed.'),
                                ),
                              ),
                        },
                        'Token',
                      )
                    : null,
                ),
            },
          ],
          shown,
          (d) => ({ 'data-device': d.id }),
        ),
      );
    };
    const load = async () => {
      rows = await view.api.get<DeviceRow[]>(
        `/devices${status.value ? `?status=${status.value}` : ''}`,
        view.signal,
      );
      draw();
    };
    search.addEventListener('input', draw);
    kind.addEventListener('change', draw);
    status.addEventListener('change', () => void load());
    view.root.append(
      pageHeader('Devices', addButton),
      addBox,
      result,
      h(
        'div',
        { class: 'filters', role: 'search' },
        labelled('Search (id, patient, model)', search),
        labelled('Status', status),
        labelled('Kind', kind),
      ),
      list,
    );
    await load();
  },
};
