import { DEVICE_ID_PATTERN, DEVICE_STATUSES, isDeviceKind, type DeviceStatus } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { Device } from '../../core/store/devices.js';
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

function deviceView(d: Device) {
  return {
    id: d.id,
    kind: d.kind,
    model: d.model,
    patientId: d.patientId,
    status: d.status,
    statusReason: d.statusReason,
    currentSerial: d.currentSerial,
    firmware: d.firmware,
    allowedNetworks: d.allowedNetworks,
    createdAt: new Date(d.createdAt).toISOString(),
  };
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
    const id = requireString(args, 'id');
    const kind = requireString(args, 'kind');
    if (!DEVICE_ID_PATTERN.test(id)) {
      throw new VitalGateError('DEVICE_ID_INVALID', 'device id must be 1-64 letters, digits, . _ or -');
    }
    if (!isDeviceKind(kind)) {
      throw new VitalGateError(
        'DEVICE_KIND_INVALID',
        'kind must be one of wearable, pulse_oximeter, bp_monitor, glucometer, weight_scale, thermometer',
      );
    }
    const ctx = openContext(readConfig(args, io.env));
    try {
      const device = ctx.store.devices.add({
        id,
        kind,
        model: optionalString(args, 'model'),
        patientId: optionalString(args, 'patient'),
      });
      ctx.store.audit.append({
        actor: cliActor(),
        action: 'device.register',
        target: `device:${id}`,
        outcome: 'success',
        details: { kind, model: device.model, bound: device.patientId !== null },
      });
      if (args.values.json) io.json(deviceView(device));
      else io.out(`device ${id} registered (${kind}, pending enrollment)`);
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
      const service = new EnrollmentTokenService(
        ctx.store.enrollmentTokens,
        ctx.store.devices,
        ctx.store.audit,
      );
      const issued = service.issue(id, ttlMs, cliActor());
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
