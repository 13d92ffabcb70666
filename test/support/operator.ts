// A user (an admin by default) signed in to a running hub's API the first time: the account is
// made with `vitalgate user add` on the data dir, then the one-time password is changed, TOTP
// enrolled, and the MFA step yields a session token.
import otplib from 'otplib';
import type { HubApi } from '../../simulators/hub-api.js';
import { runCli } from './cli.js';

export const OPERATOR_PASSWORD = 'correct horse battery staple 42';

export async function firstAdminLogin(
  api: HubApi,
  dataDir: string,
  username: string,
  role = 'admin',
  options: { stepUp?: boolean } = {},
): Promise<string> {
  const added = await runCli(['user', 'add', '--username', username, '--role', role, '--json'], {
    VITALGATE_DATA_DIR: dataDir,
  });
  const { oneTimePassword } = JSON.parse(added.stdout) as { oneTimePassword: string };
  const step = await api.json<{ challengeId: string }>('POST', '/api/v1/auth/login', {
    body: { username, password: oneTimePassword },
  });
  const enroll = await api.json<{ challengeId: string; totp: { secret: string } }>(
    'POST',
    '/api/v1/auth/login/password',
    { body: { challengeId: step.challengeId, newPassword: OPERATOR_PASSWORD } },
  );
  const session = await api.json<{ token: string }>('POST', '/api/v1/auth/mfa', {
    body: { challengeId: enroll.challengeId, code: otplib.authenticator.generate(enroll.totp.secret) },
  });
  if (options.stepUp) {
    // Sensitive actions (erasing a patient, wiping a device) need a fresh second factor: the code
    // of the next TOTP step, which the hub accepts one step ahead.
    await api.json('POST', '/api/v1/auth/step-up', {
      token: session.token,
      body: { code: otplib.authenticator.clone({ epoch: Date.now() + 30_000 }).generate(enroll.totp.secret) },
    });
  }
  return session.token;
}
