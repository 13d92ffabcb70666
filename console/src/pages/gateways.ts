// Gateways (engineer, admin): each phone or home gateway with the Bluetooth devices bound to it
// (docs/GATEWAYS.md): the pinned measuring-device identity, who bound it and when, the last clock
// drift seen; the gateway's own session and last seen (the API keeps no per-device time of a
// relayed reading). Bind a device (optionally pinning its IEEE 11073 system id or Bluetooth
// address and serial; a device bound elsewhere moves after a confirmation); unbind one after a
// confirmation. Refusals are the API's codes, said in words.
import { ApiError } from '../api.js';
import { formatAge, formatTime, h, notice, replace } from '../dom.js';
import type { Page } from '../page.js';
import { confirmAction, labelled, pageHeader, select, table } from '../ui.js';
import { KINDS } from '../vitals.js';

interface DeviceRow {
  id: string;
  kind: string;
  status: string;
  connected?: boolean | null;
  lastSeen?: string | null;
}

interface Binding {
  gatewayId: string;
  deviceId: string;
  kind: string;
  status: string;
  patientId: string | null;
  systemId: string | null;
  serial: string | null;
  boundAt: string;
  boundBy: string;
  clockDriftMs: number | null;
}

/** The gateway API's refusals, in words, with what to do next. */
const REFUSALS: Readonly<Record<string, string>> = {
  GATEWAY_NOT_FOUND: 'There is no such gateway. Add it under Devices (kind: gateway) first.',
  NOT_A_GATEWAY: 'That device is not a gateway. Choose a device of kind gateway.',
  GATEWAY_STATE_CONFLICT: 'This gateway is revoked or wiped: devices can no longer be bound to it.',
  DEVICE_NOT_FOUND: 'There is no device with that id. Add it under Devices first.',
  DEVICE_KIND_INVALID: 'A gateway cannot be bound to another gateway.',
  DEVICE_STATE_CONFLICT:
    'This device cannot be relayed: it is revoked or wiped, or it has a certificate of its own and connects itself (revoke that first).',
  SYSTEM_ID_INVALID:
    'The system id must be an IEEE EUI-64 (16 hex digits) or a Bluetooth address like AA:BB:CC:DD:EE:FF.',
  SERIAL_INVALID: 'The serial number must be 1 to 64 characters.',
  GATEWAY_BINDING_NOT_FOUND: 'That device is no longer bound to this gateway. The list is now up to date.',
  VALIDATION_FAILED: 'Check the device id: letters, digits and dashes only.',
};

function refusal(err: unknown): string {
  if (err instanceof ApiError) {
    const words = REFUSALS[err.code] ?? err.message;
    return `${words} (${err.code})`;
  }
  return err instanceof Error ? err.message : 'That did not work.';
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function drift(ms: number | null): string {
  if (ms === null) return '–';
  const s = ms / 1000;
  return `${s >= 0 ? '+' : ''}${Math.abs(s) < 10 ? s.toFixed(1) : Math.round(s)} s`;
}

function pinned(b: Binding): Node | string {
  if (b.systemId === null && b.serial === null) return 'not yet (its first reading pins it)';
  return h(
    'span',
    null,
    b.systemId ? h('code', null, b.systemId) : null,
    b.systemId && b.serial ? ' · ' : null,
    b.serial ? `serial ${b.serial}` : null,
  );
}

export const gatewaysPage: Page = {
  path: '/gateways',
  title: 'Gateways',
  roles: ['engineer', 'admin'],
  nav: { label: 'Gateways', order: 11 },
  async render(view) {
    const result = h('div', { class: 'result' });
    const list = h('div');
    const gateway = select('gateway', []);
    const device = h('input', {
      name: 'deviceId',
      autocomplete: 'off',
      spellcheck: 'false',
      autocapitalize: 'none',
      required: true,
      list: 'gateway-bindable',
    });
    const bindable = h('datalist', { id: 'gateway-bindable' });
    const systemId = h('input', {
      name: 'systemId',
      autocomplete: 'off',
      spellcheck: 'false',
      autocapitalize: 'characters',
      maxlength: 32,
    });
    const serial = h('input', { name: 'serial', autocomplete: 'off', spellcheck: 'false', maxlength: 64 });
    const formStatus = h('div', { class: 'form-status' });
    const form = h(
      'form',
      { class: 'card' },
      h('h2', null, 'Bind a device'),
      h(
        'div',
        { class: 'filters' },
        labelled('Gateway', gateway),
        labelled('Device id', device, 'A registered device without a certificate of its own, e.g. bp-12'),
        labelled(
          'System id (optional)',
          systemId,
          'IEEE 11073 system id (16 hex digits) or Bluetooth address (AA:BB:CC:DD:EE:FF)',
        ),
        labelled('Serial (optional)', serial),
      ),
      bindable,
      formStatus,
      h('button', { type: 'submit', class: 'primary' }, 'Bind'),
    );

    let gateways: DeviceRow[] = [];
    let bindings: Binding[] = [];

    const bind = (gatewayId: string, deviceId: string) =>
      view.api
        .post<Binding>(`/gateways/${encodeURIComponent(gatewayId)}/devices`, {
          deviceId,
          ...(systemId.value.trim() ? { systemId: systemId.value.trim() } : {}),
          ...(serial.value.trim() ? { serial: serial.value.trim() } : {}),
        })
        .catch((err: unknown) => {
          throw new Error(refusal(err));
        });

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      formStatus.replaceChildren();
      const gatewayId = gateway.value;
      const deviceId = device.value.trim();
      if (!gatewayId) {
        formStatus.replaceChildren(notice('error', 'There is no gateway to bind to yet.'));
        return;
      }
      const elsewhere = bindings.find((b) => b.deviceId === deviceId && b.gatewayId !== gatewayId);
      const done = () => {
        form.reset();
        if (gateways.length) gateway.value = gatewayId;
        replace(result, notice('ok', `${deviceId} is bound to ${gatewayId}.`));
        void load();
      };
      if (elsewhere) {
        // Binding moves a device: its readings through the other gateway are refused from then on.
        void confirmAction({
          title: `Move ${deviceId} to ${gatewayId}`,
          text: `${deviceId} is bound to ${elsewhere.gatewayId}. Binding it here unbinds it there: readings through ${elsewhere.gatewayId} are refused from now on.`,
          action: 'Move',
          run: () => bind(gatewayId, deviceId),
        }).then((ran) => ran && done());
        return;
      }
      bind(gatewayId, deviceId)
        .then(done)
        .catch((err: unknown) => formStatus.replaceChildren(notice('error', refusal(err))));
    });

    const unbindButton = (b: Binding) =>
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          'aria-label': `Unbind ${b.deviceId} from ${b.gatewayId}`,
          onclick: () =>
            void confirmAction({
              title: `Unbind ${b.deviceId}`,
              text: `Readings for ${b.deviceId} through ${b.gatewayId} are refused from now on. Other devices of this gateway are not affected.`,
              action: 'Unbind',
              danger: true,
              run: () =>
                view.api
                  .delete(
                    `/gateways/${encodeURIComponent(b.gatewayId)}/devices/${encodeURIComponent(b.deviceId)}`,
                  )
                  .catch((err: unknown) => {
                    throw new Error(refusal(err));
                  }),
            }).then((ran) => {
              if (!ran) return;
              replace(result, notice('ok', `${b.deviceId} is unbound from ${b.gatewayId}.`));
              void load();
            }),
        },
        'Unbind',
      );

    const gatewaySection = (g: DeviceRow) => {
      const bound = bindings.filter((b) => b.gatewayId === g.id);
      const session = g.connected === true ? 'connected' : g.connected === false ? 'offline' : '–';
      return h(
        'section',
        { class: 'card', 'data-gateway': g.id, 'aria-labelledby': `gateway-${g.id}` },
        h('h2', { id: `gateway-${g.id}` }, h('code', null, g.id)),
        h(
          'p',
          { class: 'meta' },
          h(
            'span',
            {
              class: `badge ${g.status === 'active' ? 'badge-ok' : g.status === 'pending' ? 'badge-muted' : 'badge-high'}`,
            },
            g.status,
          ),
          ` · ${session} · last seen ${g.lastSeen ? formatAge(g.lastSeen) : 'never'} · ${bound.length} bound`,
        ),
        table<Binding>(
          `Devices bound to ${g.id}`,
          [
            { label: 'Device', cell: (b) => h('code', null, b.deviceId) },
            { label: 'Kind', cell: (b) => KINDS[b.kind] ?? b.kind },
            { label: 'Status', cell: (b) => b.status },
            { label: 'Patient', cell: (b) => b.patientId ?? '–' },
            { label: 'Measuring device', cell: pinned },
            { label: 'Clock drift', cell: (b) => drift(b.clockDriftMs) },
            { label: 'Bound', cell: (b) => `${formatTime(b.boundAt)} by ${b.boundBy.replace(/^user:/, '')}` },
            { label: 'Actions', cell: unbindButton },
          ],
          bound,
          (b) => ({ 'data-binding': b.deviceId }),
        ),
      );
    };

    const load = async () => {
      const [all, bound] = await Promise.all([
        view.api.get<DeviceRow[]>('/devices', view.signal),
        view.api.get<Binding[]>('/gateways/bindings', view.signal),
      ]);
      bindings = bound;
      gateways = all.filter((d) => d.kind === 'gateway');
      const chosen = gateway.value;
      gateway.replaceChildren(...gateways.map((g) => h('option', { value: g.id }, g.id)));
      if (gateways.some((g) => g.id === chosen)) gateway.value = chosen;
      bindable.replaceChildren(
        ...all
          .filter((d) => d.kind !== 'gateway' && d.status !== 'revoked' && d.status !== 'wiped')
          .map((d) => h('option', { value: d.id })),
      );
      replace(
        list,
        h(
          'p',
          { class: 'meta' },
          `${count(gateways.length, 'gateway')}, ${count(bindings.length, 'bound device')}`,
        ),
        gateways.length === 0
          ? notice('info', 'No gateways yet. Add one under Devices with the kind “Gateway”, then enrol it.')
          : gateways.map(gatewaySection),
      );
    };

    view.root.append(pageHeader('Gateways'), result, form, list);
    await load();
  },
};
