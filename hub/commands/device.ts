// `vitalgate device ...`: thin over the API's DeviceRegistry, so the CLI and /api/v1/devices
// register, issue tokens and bind the same way. Lifecycle verbs are in device-lifecycle.ts.
import type { HubConfig } from '../../core/config.js';
import { DEVICE_STATUSES, type DeviceStatus } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import { DeviceRegistry, deviceView } from '../../dashboard-api/services/device-registry.js';
import { EnrollmentTokenService } from '../../pki/enrollment-tokens.js';
import {
  cliActor,
  optionalString,
  parseDuration,
  requirePositional,
  requireString,
  type CommandSpec,
} from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

/** The CLI runs without the broker: a running hub notices a new binding itself. */
function deviceRegistry(store: ControlPlane, config: HubConfig): DeviceRegistry {
  const tokens = new EnrollmentTokenService(store.enrollmentTokens, store.devices, store.audit);
  return new DeviceRegistry(store, tokens, config, undefined);
}

export const deviceAdd: CommandSpec = {
  name: 'device add',
  summary: 'Register a device. It stays pending until it enrolls with a one-time token.',
  usage: 'device add --id ID --kind KIND [--model M] [--patient PATIENT_ID] [--json]',
  options: {
    id: { type: 'string' },
    kind: { type: 'string' },
    model: { type: 'string' },
    patient: { type: 'string' },
  },
  async run(args, io) {
    const config = readConfig(args, io.env);
    const ctx = openContext(config);
    try {
      const device = deviceRegistry(ctx.store, config).register(
        {
          id: requireString(args, 'id'),
          kind: requireString(args, 'kind'),
          model: optionalString(args, 'model'),
          patientId: optionalString(args, 'patient'),
        },
        cliActor(),
      );
      if (args.values.json) io.json(deviceView(device));
      else io.out(`device ${device.id} registered (${device.kind}, pending enrollment)`);
    } finally {
      ctx.close();
    }
  },
};

export const deviceToken: CommandSpec = {
  name: 'device token',
  summary: 'Issue a one-time enrollment token for a device. It is shown once and stored only as a hash.',
  usage: 'device token ID [--ttl 24h] [--json]',
  options: { ttl: { type: 'string' } },
  async run(args, io) {
    const id = requirePositional(args, 0, 'device ID');
    const config = readConfig(args, io.env);
    const ttlText = optionalString(args, 'ttl');
    const ttlMs = ttlText ? parseDuration(ttlText, '--ttl') : config.enrollmentTokenTtlHours * 3_600_000;
    const ctx = openContext(config);
    try {
      const issued = deviceRegistry(ctx.store, config).issueToken(id, ttlMs, cliActor());
      const view = {
        deviceId: issued.deviceId,
        token: issued.token,
        expiresAt: new Date(issued.expiresAt).toISOString(),
      };
      if (args.values.json) io.json(view);
      else io.out(`enrollment token for ${id} (shown once, expires ${view.expiresAt}):\n${issued.token}`);
    } finally {
      ctx.close();
    }
  },
};

export const deviceList: CommandSpec = {
  name: 'device list',
  summary: 'List registered devices.',
  usage: 'device list [--status STATUS] [--json]',
  options: { status: { type: 'string' } },
  async run(args, io) {
    const status = optionalString(args, 'status');
    if (status && !(DEVICE_STATUSES as readonly string[]).includes(status)) {
      throw new VitalGateError('USAGE', `--status must be one of ${DEVICE_STATUSES.join(', ')}`);
    }
    const ctx = openContext(readConfig(args, io.env));
    try {
      const devices = ctx.store.devices
        .list(status ? { status: status as DeviceStatus } : {})
        .map(deviceView);
      if (args.values.json) io.json(devices);
      else if (devices.length === 0) io.out('no devices');
      else for (const d of devices) io.out(`${d.id.padEnd(24)} ${d.kind.padEnd(15)} ${d.status}`);
    } finally {
      ctx.close();
    }
  },
};

export const deviceShow: CommandSpec = {
  name: 'device show',
  summary: 'Show one device with its certificates.',
  usage: 'device show ID [--json]',
  options: {},
  async run(args, io) {
    const id = requirePositional(args, 0, 'device ID');
    const ctx = openContext(readConfig(args, io.env));
    try {
      const device = deviceView(ctx.store.devices.require(id));
      const certificates = ctx.store.certificates.listForDevice(id).map((c) => ({
        serial: c.serial,
        status: c.status,
        notAfter: new Date(c.notAfter).toISOString(),
        revocationReason: c.revocationReason,
      }));
      if (args.values.json) io.json({ ...device, certificates });
      else {
        for (const [k, v] of Object.entries(device))
          io.out(`${k.padEnd(16)} ${Array.isArray(v) ? v.join(', ') : (v ?? '-')}`);
        for (const c of certificates) io.out(`certificate      ${c.serial} ${c.status} until ${c.notAfter}`);
      }
    } finally {
      ctx.close();
    }
  },
};

export const deviceBind: CommandSpec = {
  name: 'device bind',
  summary: 'Bind a device to a patient: its readings are stored under that patient from then on.',
  usage: 'device bind ID --patient PATIENT_ID [--json]',
  options: { patient: { type: 'string' } },
  details: ['A running hub ends the device’s live session, so its next connection uses the new binding.'],
  async run(args, io) {
    const id = requirePositional(args, 0, 'device ID');
    const patientId = requireString(args, 'patient');
    const config = readConfig(args, io.env);
    const ctx = openContext(config);
    try {
      const device = deviceRegistry(ctx.store, config).bind(id, patientId, cliActor());
      if (args.values.json) io.json(deviceView(device));
      else io.out(`device ${id} bound to patient ${patientId}`);
    } finally {
      ctx.close();
    }
  },
};

export const deviceUnbind: CommandSpec = {
  name: 'device unbind',
  summary: 'Unbind a device from its patient: its readings are held under the quarantine key.',
  usage: 'device unbind ID [--json]',
  options: {},
  async run(args, io) {
    const id = requirePositional(args, 0, 'device ID');
    const config = readConfig(args, io.env);
    const ctx = openContext(config);
    try {
      const device = deviceRegistry(ctx.store, config).unbind(id, cliActor());
      if (args.values.json) io.json(deviceView(device));
      else io.out(`device ${id} unbound`);
    } finally {
      ctx.close();
    }
  },
};
