// `vitalgate demo` as a first-time user runs it: it prints the web console's address and a
// clinician's one-time password; that clinician signs in, sees the assigned demo patients, and
// the fleet's scenarios raise an alert within the first minute.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import otplib from 'otplib';
import { afterAll, expect, inject, it, vi } from 'vitest';
import { HubApi } from '../../../simulators/hub-api.js';
import { BIN } from '../../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vg-demo-'));
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

it('prints the console URL and a clinician who sees demo patients with an alert in the first minute', async () => {
  const dataDir = join(dir, 'hub');
  child = spawn(process.execPath, [BIN, 'demo'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      VITALGATE_DATA_DIR: dataDir,
      VITALGATE_INFLUX_URL: inject('influxUrl'),
      VITALGATE_INFLUX_DB: `demo_${randomBytes(4).toString('hex')}`,
      VITALGATE_MQTT_PORT: '0',
      VITALGATE_API_PORT: '0',
      VITALGATE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let consoleUrl = '';
  let clinicianLine = false;
  let password = '';
  let readyAt = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = /^web console: (https:\/\/\S+\/)/.exec(line)?.[1];
    if (url) [consoleUrl, readyAt] = [url, Date.now()];
    if (line.startsWith('demo clinician: demo.nurse')) clinicianLine = true;
    const otp = /^one-time password \(shown once.*\): (\S+)$/.exec(line)?.[1];
    if (otp && clinicianLine) {
      password = otp;
      break;
    }
  }
  expect(consoleUrl, stderr).toMatch(/^https:\/\/localhost:\d+\/$/);
  expect(password, stderr).toMatch(/^\S{12,}$/);
  const api = new HubApi({
    baseUrl: consoleUrl.replace(/\/$/, ''),
    ca: readFileSync(join(dataDir, 'ca.pem'), 'utf8'),
  });
  expect((await api.send('GET', '/')).text).toContain('/assets/app.js');
  const step = await api.json<{ challengeId: string }>('POST', '/api/v1/auth/login', {
    body: { username: 'demo.nurse', password },
  });
  const enrol = await api.json<{ challengeId: string; totp: { secret: string } }>(
    'POST',
    '/api/v1/auth/login/password',
    {
      body: { challengeId: step.challengeId, newPassword: 'first look at the ward console' },
    },
  );
  const { token } = await api.json<{ token: string }>('POST', '/api/v1/auth/mfa', {
    body: { challengeId: enrol.challengeId, code: otplib.authenticator.generate(enrol.totp.secret) },
  });
  let alerts = 0;
  await vi.waitFor(
    async () => {
      const mine = await api.json<{ patients: { openAlerts: unknown[] }[] }>('GET', '/api/v1/me/patients', {
        token,
      });
      expect(mine.patients).toHaveLength(3);
      alerts = mine.patients.reduce((n, p) => n + p.openAlerts.length, 0);
      expect(alerts).toBeGreaterThan(0);
    },
    { timeout: Math.max(1000, readyAt + 60_000 - Date.now()), interval: 1000 },
  );
  expect(alerts).toBeGreaterThan(0);
}, 150_000);
