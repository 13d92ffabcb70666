// Who registers the fleet's devices and hands them one-time tokens (the operator's side of SPEC
// §3; the devices then enroll themselves). Three ways:
//   api     an admin or engineer account over the HTTPS API (login + TOTP from the environment);
//   tokens  pre-made tokens from a file (`vitalgate device token --json` lines, plus the kind);
//   local   the data dir of a hub on this machine, with the CLI's authority (local-hub.ts).
import { readFileSync } from 'node:fs';
import otplib from 'otplib';
import { isDeviceKind, type DeviceKind } from '../core/domain.js';
import { VitalGateError, isVitalGateError } from '../core/errors.js';
import type { HubApi } from './hub-api.js';
import type { HubReadback, HubSecurityEvent } from './hub-readback.js';

export interface DeviceRegistration {
  deviceId: string;
  kind: DeviceKind;
  /** The hub patient the device is bound to. */
  patientId?: string | undefined;
  /** Networks the device may connect from (CIDR); none means anywhere. */
  allowedNetworks?: string[] | undefined;
}

export interface FleetProvisioner {
  readonly name: 'api' | 'tokens' | 'local';
  /** Whether it can register devices and patients (pre-made tokens cannot). */
  readonly canRegister: boolean;
  /** A hub patient for a fleet patient label: created once, then remembered by the caller. */
  createPatient(label: string): Promise<string | undefined>;
  /** Registers the device when the hub does not know it yet, and returns a fresh one-time token. */
  token(device: DeviceRegistration): Promise<string>;
  /** Revokes a device (the revoked-certificate fault). */
  revoke?(deviceId: string, reason: string): Promise<void>;
  /** A hub-signed certificate for the key that has already expired (operator authority only). */
  expiredCertificate?(deviceId: string, keyPem: string): Promise<string>;
  /** The hub's records, where this provisioner may read them. */
  readonly records?: Omit<HubReadback, 'metrics'> | undefined;
  close?(): void;
}

/** Synthetic demographics for a simulated patient: no real person, no PHI. */
export function simulatedPatient(label: string): { name: string; birthDate: string } {
  let h = 0;
  for (const c of label) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const year = 1935 + (h % 60);
  const month = 1 + ((h >>> 8) % 12);
  const day = 1 + ((h >>> 12) % 28);
  return {
    name: `Simulated Patient ${label}`,
    birthDate: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
  };
}

export interface ApiCredentials {
  username: string;
  password: string;
  /** Base32 TOTP secret of the account (the MFA step is mandatory). */
  totpSecret: string;
}

/** Environment variables holding the admin/engineer credentials for `--enroll api`. */
export const API_CREDENTIAL_ENV = {
  username: 'VG_SIMULATE_USERNAME',
  password: 'VG_SIMULATE_PASSWORD',
  totpSecret: 'VG_SIMULATE_TOTP_SECRET',
} as const;

export function apiCredentialsFrom(env: NodeJS.ProcessEnv): ApiCredentials | undefined {
  const username = env[API_CREDENTIAL_ENV.username];
  const password = env[API_CREDENTIAL_ENV.password];
  const totpSecret = env[API_CREDENTIAL_ENV.totpSecret];
  if (!username && !password && !totpSecret) return undefined;
  if (!username || !password || !totpSecret) {
    throw new VitalGateError(
      'USAGE',
      `set all of ${Object.values(API_CREDENTIAL_ENV).join(', ')} to enroll through the API`,
    );
  }
  return { username, password, totpSecret };
}

interface SecurityEventView {
  kind: string;
  deviceId: string | null;
  at: string;
  details: Record<string, unknown> | null;
}

/** Registers devices and patients through the API with an admin or engineer session. */
export class ApiProvisioner implements FleetProvisioner {
  readonly name = 'api';
  readonly canRegister = true;
  readonly records: Omit<HubReadback, 'metrics'>;
  private patientsForbidden = false;

  private constructor(
    private readonly api: HubApi,
    private readonly session: string,
  ) {
    this.records = {
      source: 'api',
      securityEvents: (deviceId, since) => this.securityEvents(deviceId, since),
      deviceStatus: (deviceId) => this.deviceStatus(deviceId),
    };
  }

  /** Logs in (password, then a TOTP code from the secret). */
  static async login(api: HubApi, credentials: ApiCredentials): Promise<ApiProvisioner> {
    const step = await api.json<{ next: string; challengeId: string }>('POST', '/api/v1/auth/login', {
      body: { username: credentials.username, password: credentials.password },
    });
    if (step.next !== 'mfa') {
      throw new VitalGateError(
        'ACCOUNT_SETUP_INCOMPLETE',
        `the account must finish its first login first (next step: ${step.next})`,
      );
    }
    const mfa = () =>
      api.json<{ token: string }>('POST', '/api/v1/auth/mfa', {
        body: { challengeId: step.challengeId, code: otplib.authenticator.generate(credentials.totpSecret) },
      });
    let session: { token: string };
    try {
      session = await mfa();
    } catch (err) {
      // The account logged in within this 30-second step already: each code is good once.
      if (!isVitalGateError(err, 'MFA_CODE_REUSED')) throw err;
      await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 500));
      session = await mfa();
    }
    return new ApiProvisioner(api, session.token);
  }

  /** Undefined when the account may not create patients (an engineer): the devices stay unbound. */
  async createPatient(label: string): Promise<string | undefined> {
    if (this.patientsForbidden) return undefined;
    try {
      const created = await this.api.json<{ id: string }>('POST', '/api/v1/patients', {
        token: this.session,
        body: simulatedPatient(label),
      });
      return created.id;
    } catch (err) {
      if (!isVitalGateError(err) || err.details?.status !== 403) throw err;
      this.patientsForbidden = true;
      return undefined;
    }
  }

  async token(device: DeviceRegistration): Promise<string> {
    try {
      await this.api.json('GET', `/api/v1/devices/${encodeURIComponent(device.deviceId)}`, {
        token: this.session,
      });
    } catch (err) {
      if (!isVitalGateError(err) || (err.details?.status as number) !== 404) throw err;
      await this.api.json('POST', '/api/v1/devices', {
        token: this.session,
        body: {
          id: device.deviceId,
          kind: device.kind,
          model: 'VitalGate Simulator',
          ...(device.patientId ? { patientId: device.patientId } : {}),
          ...(device.allowedNetworks?.length ? { allowedNetworks: device.allowedNetworks } : {}),
        },
      });
    }
    const issued = await this.api.json<{ token: string }>(
      'POST',
      `/api/v1/devices/${encodeURIComponent(device.deviceId)}/enrollment-token`,
      { token: this.session, body: {} },
    );
    return issued.token;
  }

  async revoke(deviceId: string, reason: string): Promise<void> {
    await this.api.json('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/revoke`, {
      token: this.session,
      body: { reason },
    });
  }

  private async securityEvents(deviceId: string, since: number): Promise<HubSecurityEvent[] | undefined> {
    try {
      const query = `deviceId=${encodeURIComponent(deviceId)}&since=${new Date(since).toISOString()}&limit=1000`;
      const events = await this.api.json<SecurityEventView[]>('GET', `/api/v1/security/events?${query}`, {
        token: this.session,
      });
      return events.map((e) => ({ ...e, at: Date.parse(e.at) }));
    } catch {
      return undefined;
    }
  }

  private async deviceStatus(deviceId: string): Promise<string | undefined> {
    try {
      const device = await this.api.json<{ status: string }>(
        'GET',
        `/api/v1/devices/${encodeURIComponent(deviceId)}`,
        { token: this.session },
      );
      return device.status;
    } catch {
      return undefined;
    }
  }
}

export interface PremadeToken {
  deviceId: string;
  token: string;
  kind?: DeviceKind | undefined;
}

/**
 * Reads pre-made tokens: a JSON array or JSON lines of `{deviceId, token, kind?}` (the output of
 * `vitalgate device token ID --json`, with the device's kind added).
 */
export function readTokenFile(path: string): PremadeToken[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new VitalGateError('USAGE', `cannot read the token file ${path}`);
  }
  let items: unknown[];
  try {
    const trimmed = text.trim();
    items = trimmed.startsWith('[')
      ? (JSON.parse(trimmed) as unknown[])
      : trimmed
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as unknown);
  } catch {
    throw new VitalGateError(
      'USAGE',
      `${path} must hold a JSON array or JSON lines of {deviceId, token, kind}`,
    );
  }
  return items.map((item, i) => {
    const t = item as { deviceId?: unknown; token?: unknown; kind?: unknown };
    if (typeof t.deviceId !== 'string' || typeof t.token !== 'string') {
      throw new VitalGateError('USAGE', `${path}: entry ${i + 1} needs deviceId and token`);
    }
    if (t.kind !== undefined && (typeof t.kind !== 'string' || !isDeviceKind(t.kind))) {
      throw new VitalGateError('USAGE', `${path}: entry ${i + 1} has an unknown kind`);
    }
    return { deviceId: t.deviceId, token: t.token, kind: t.kind as DeviceKind | undefined };
  });
}

/** Pre-made tokens: it registers nothing; a device without a token cannot join. */
export class TokenFileProvisioner implements FleetProvisioner {
  readonly name = 'tokens';
  readonly canRegister = false;
  private readonly byDevice: Map<string, PremadeToken>;

  constructor(readonly tokens: readonly PremadeToken[]) {
    this.byDevice = new Map(tokens.map((t) => [t.deviceId, t]));
  }

  createPatient(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  token(device: DeviceRegistration): Promise<string> {
    const found = this.byDevice.get(device.deviceId);
    if (!found) {
      return Promise.reject(
        new VitalGateError('ENROLLMENT_TOKEN_MISSING', `no pre-made token for device ${device.deviceId}`),
      );
    }
    return Promise.resolve(found.token);
  }
}
