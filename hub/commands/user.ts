// `vitalgate user ...`: thin over the API's UserDirectory, so the CLI and /api/v1/users do the
// same thing (one-time passwords, ending sessions at once, audit entries as `cli:<os user>`).
import type { Role } from '../../core/domain.js';
import { ApiSessionRepository } from '../../core/store/api-sessions.js';
import { BreakGlassGrantRepository } from '../../core/store/break-glass-grants.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import { SessionService } from '../../dashboard-api/auth/sessions.js';
import { UserDirectory, type UserView } from '../../dashboard-api/services/user-directory.js';
import {
  cliActor,
  requirePositional,
  requireString,
  type CliIo,
  type CommandSpec,
  type ParsedArgs,
} from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

function userDirectory(store: ControlPlane, policy: { sessionIdleMinutes: number; sessionMaxHours: number }) {
  const sessions = new SessionService(
    new ApiSessionRepository(store.db),
    store.users,
    store.audit,
    policy,
    Date.now,
  );
  return new UserDirectory(store, sessions, new BreakGlassGrantRepository(store.db));
}

/** Creates an account with a one-time password that must be changed at first login. */
export async function createUser(
  store: ControlPlane,
  username: string,
  role: Role,
  actor: string,
): Promise<{ username: string; oneTimePassword: string }> {
  return userDirectory(store, { sessionIdleMinutes: 15, sessionMaxHours: 8 }).create(username, role, actor);
}

async function withDirectory<T>(
  args: ParsedArgs,
  io: CliIo,
  fn: (users: UserDirectory) => Promise<T> | T,
): Promise<T> {
  const config = readConfig(args, io.env);
  const ctx = openContext(config);
  try {
    return await fn(userDirectory(ctx.store, config));
  } finally {
    ctx.close();
  }
}

function stateOf(u: UserView): string {
  return `${u.disabled ? 'disabled' : u.locked ? 'locked' : 'active'}${u.mfaEnrolled ? '' : ' (no MFA yet)'}${u.mustChangePassword ? ' (one-time password)' : ''}`;
}

function printUser(args: ParsedArgs, io: CliIo, u: UserView, what: string): void {
  if (args.values.json) io.json(u);
  else io.out(`user ${u.username} ${what}: ${stateOf(u)}`);
}

export const userAdd: CommandSpec = {
  name: 'user add',
  summary:
    'Create a staff account. Its one-time password is printed once and must be changed at first login.',
  usage: 'user add --username USERNAME --role admin|clinician|engineer|auditor [--json]',
  options: { username: { type: 'string' }, role: { type: 'string' } },
  async run(args, io) {
    const created = await withDirectory(args, io, (users) =>
      users.create(requireString(args, 'username'), requireString(args, 'role'), cliActor()),
    );
    if (args.values.json) io.json(created);
    else
      io.out(`user ${created.username} created; one-time password (shown once): ${created.oneTimePassword}`);
  },
};

export const userList: CommandSpec = {
  name: 'user list',
  summary: 'List staff accounts with their role and state.',
  usage: 'user list [--json]',
  options: {},
  async run(args, io) {
    const users = await withDirectory(args, io, (dir) => dir.list());
    if (args.values.json) io.json(users);
    else for (const u of users) io.out(`${u.username.padEnd(24)} ${u.role.padEnd(10)} ${stateOf(u)}`);
  },
};

export const userDisable: CommandSpec = {
  name: 'user disable',
  summary: 'Disable a staff account. Its sessions and break-glass grants end at once.',
  usage: 'user disable USERNAME --reason TEXT [--json]',
  options: { reason: { type: 'string' } },
  async run(args, io) {
    const username = requirePositional(args, 0, 'USERNAME');
    const reason = requireString(args, 'reason');
    const u = await withDirectory(args, io, (users) => users.disable(username, reason, cliActor()));
    printUser(args, io, u, 'disabled');
  },
};

export const userEnable: CommandSpec = {
  name: 'user enable',
  summary: 'Enable a disabled staff account.',
  usage: 'user enable USERNAME [--json]',
  options: {},
  async run(args, io) {
    const username = requirePositional(args, 0, 'USERNAME');
    printUser(
      args,
      io,
      await withDirectory(args, io, (users) => users.enable(username, cliActor())),
      'enabled',
    );
  },
};

export const userUnlock: CommandSpec = {
  name: 'user unlock',
  summary: 'Lift a lockout after repeated login failures.',
  usage: 'user unlock USERNAME [--json]',
  options: {},
  async run(args, io) {
    const username = requirePositional(args, 0, 'USERNAME');
    printUser(
      args,
      io,
      await withDirectory(args, io, (users) => users.unlock(username, cliActor())),
      'unlocked',
    );
  },
};

export const userResetPassword: CommandSpec = {
  name: 'user reset-password',
  summary: 'Give an account a new one-time password (printed once); its sessions end at once.',
  usage: 'user reset-password USERNAME [--json]',
  options: {},
  async run(args, io) {
    const username = requirePositional(args, 0, 'USERNAME');
    const reset = await withDirectory(args, io, (users) => users.resetPassword(username, cliActor()));
    if (args.values.json) io.json(reset);
    else io.out(`user ${reset.username}: new one-time password (shown once): ${reset.oneTimePassword}`);
  },
};

export const userResetMfa: CommandSpec = {
  name: 'user reset-mfa',
  summary: 'Forget an account’s TOTP secret (a lost phone); the next login enrolls a new one.',
  usage: 'user reset-mfa USERNAME [--json]',
  options: {},
  async run(args, io) {
    const username = requirePositional(args, 0, 'USERNAME');
    printUser(
      args,
      io,
      await withDirectory(args, io, (users) => users.resetMfa(username, cliActor())),
      'MFA reset',
    );
  },
};
