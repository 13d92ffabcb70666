import { ROLES, type Role } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import { generateOneTimePassword, hashPassword } from '../../core/passwords.js';
import { USERNAME_PATTERN } from '../../core/store/users.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import { cliActor, requirePositional, requireString, type CommandSpec } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

/** Creates an account with a one-time password that must be changed at first login. */
export async function createUser(
  store: ControlPlane,
  username: string,
  role: Role,
  actor: string,
): Promise<{ username: string; oneTimePassword: string }> {
  if (!USERNAME_PATTERN.test(username)) {
    throw new VitalGateError(
      'USERNAME_INVALID',
      'username must be 2-64 lower-case letters, digits, . _ or -',
    );
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new VitalGateError('ROLE_INVALID', `role must be one of ${ROLES.join(', ')}`);
  }
  const oneTimePassword = generateOneTimePassword();
  store.users.add({
    username,
    role,
    passwordHash: await hashPassword(oneTimePassword),
    mustChangePassword: true,
  });
  store.audit.append({
    actor,
    action: 'user.create',
    target: `user:${username}`,
    outcome: 'success',
    details: { role },
  });
  return { username, oneTimePassword };
}

export const userAdd: CommandSpec = {
  name: 'user add',
  summary:
    'Create a staff account. Its one-time password is printed once and must be changed at first login.',
  usage: 'user add --username USERNAME --role admin|clinician|engineer|auditor [--json]',
  options: { username: { type: 'string' }, role: { type: 'string' } },
  async run(args, io) {
    const ctx = openContext(readConfig(args, io.env));
    try {
      const created = await createUser(
        ctx.store,
        requireString(args, 'username'),
        requireString(args, 'role') as Role,
        cliActor(),
      );
      if (args.values.json) io.json(created);
      else
        io.out(
          `user ${created.username} created; one-time password (shown once): ${created.oneTimePassword}`,
        );
    } finally {
      ctx.close();
    }
  },
};

export const userList: CommandSpec = {
  name: 'user list',
  summary: 'List staff accounts with their role and state.',
  usage: 'user list [--json]',
  options: {},
  async run(args, io) {
    const ctx = openContext(readConfig(args, io.env));
    try {
      const users = ctx.store.users.list().map((u) => ({
        username: u.username,
        role: u.role,
        mfaEnrolled: u.totpEnrolledAt !== null,
        mustChangePassword: u.mustChangePassword,
        locked: u.lockedUntil !== null && u.lockedUntil > Date.now(),
        disabled: u.disabledAt !== null,
      }));
      if (args.values.json) io.json(users);
      else
        for (const u of users)
          io.out(
            `${u.username.padEnd(24)} ${u.role.padEnd(10)} ${u.disabled ? 'disabled' : u.locked ? 'locked' : 'active'}${u.mfaEnrolled ? '' : ' (no MFA yet)'}`,
          );
    } finally {
      ctx.close();
    }
  },
};

export const userDisable: CommandSpec = {
  name: 'user disable',
  summary: 'Disable a staff account. Its sessions are refused from their next request on.',
  usage: 'user disable USERNAME --reason TEXT',
  options: { reason: { type: 'string' } },
  async run(args, io) {
    const ctx = openContext(readConfig(args, io.env));
    try {
      const username = requirePositional(args, 0, 'USERNAME');
      const reason = requireString(args, 'reason');
      if (!ctx.store.users.get(username)) throw new VitalGateError('USER_NOT_FOUND', `no user ${username}`);
      ctx.store.users.update(username, { disabledAt: Date.now() });
      ctx.store.audit.append({
        actor: cliActor(),
        action: 'user.disable',
        target: `user:${username}`,
        outcome: 'success',
        details: { reason },
      });
      if (args.values.json) io.json({ username, disabled: true });
      else io.out(`user ${username} disabled`);
    } finally {
      ctx.close();
    }
  },
};
