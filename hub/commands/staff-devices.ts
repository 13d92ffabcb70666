// `vitalgate user devices` and `vitalgate user sign-out-everywhere`: the host operator's way to
// see a user's staff devices and to sign out a user who leaves (optionally marking each device
// lost, so it erases the console's data when it next connects), the same service as the API's,
// audited as `cli:<os user>`. Works with the hub running or stopped: the API checks every request
// against the control plane, so the sessions end at once either way.
import { ApiSessionRepository } from '../../core/store/api-sessions.js';
import { StaffDeviceRepository } from '../../core/store/staff-devices.js';
import { VitalGateError } from '../../core/errors.js';
import { SessionService } from '../../dashboard-api/auth/sessions.js';
import { StaffDeviceService, type StaffDeviceActor } from '../../dashboard-api/auth/staff-devices.js';
import {
  cliActor,
  requirePositional,
  requireString,
  type CliIo,
  type CommandSpec,
  type ParsedArgs,
} from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

async function withStaffDevices<T>(
  args: ParsedArgs,
  io: CliIo,
  fn: (service: StaffDeviceService, actor: StaffDeviceActor, username: string) => T,
): Promise<T> {
  const config = readConfig(args, io.env);
  const ctx = openContext(config);
  try {
    const { store } = ctx;
    const username = requirePositional(args, 0, 'USERNAME');
    if (!store.users.get(username)) throw new VitalGateError('USER_NOT_FOUND', `no user ${username}`);
    const sessions = new SessionService(
      new ApiSessionRepository(store.db),
      store.users,
      store.audit,
      config,
      Date.now,
    );
    const service = new StaffDeviceService({
      devices: new StaffDeviceRepository(store.db),
      sessions,
      audit: store.audit,
      securityEvents: store.securityEvents,
      passkeys: store.passkeys,
      now: Date.now,
    });
    const who = cliActor();
    return fn(service, { username: who, role: 'admin', auditActor: who }, username);
  } finally {
    ctx.close();
  }
}

export const userDevices: CommandSpec = {
  name: 'user devices',
  summary: 'List the staff devices (browsers and apps) a user signed in on, with their live sessions.',
  usage: 'user devices USERNAME [--json]',
  options: {},
  async run(args, io) {
    const devices = await withStaffDevices(args, io, (service, actor, username) =>
      service.list(actor, username),
    );
    if (args.values.json) {
      io.json(devices);
      return;
    }
    if (devices.length === 0) io.out('no staff devices');
    for (const d of devices) {
      const state = d.lost ? `lost ${d.lost.at} by ${d.lost.by}` : `${d.sessions.length} live session(s)`;
      io.out(`${d.id}  ${d.name}  last seen ${d.lastSeenAt} from ${d.lastAddress ?? '-'}  ${state}`);
    }
  },
};

export const userSignOutEverywhere: CommandSpec = {
  name: 'user sign-out-everywhere',
  summary:
    'End every session of a user on every device (a user who leaves); --mark-devices-lost also wipes them.',
  usage: 'user sign-out-everywhere USERNAME --reason TEXT [--mark-devices-lost] [--json]',
  options: { reason: { type: 'string' }, 'mark-devices-lost': { type: 'boolean' } },
  details: [
    'With --mark-devices-lost each of the user’s devices is marked lost: its passkeys are revoked and',
    'its next request erases what the console kept in that browser (Clear-Site-Data).',
  ],
  async run(args, io) {
    const reason = requireString(args, 'reason');
    const markDevicesLost = args.values['mark-devices-lost'] === true;
    const result = await withStaffDevices(args, io, (service, actor, username) => ({
      username,
      ...service.signOutEverywhere(actor, username, { markDevicesLost, reason }, undefined),
    }));
    if (args.values.json) {
      io.json(result);
      return;
    }
    io.out(
      `user ${result.username}: ${result.sessionsEnded} session(s) ended, ${result.devicesMarkedLost} device(s) marked lost`,
    );
  },
};
