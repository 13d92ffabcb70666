// Hub configuration: defaults, then an optional JSON config file (`--config`), then
// `VITALGATE_*` environment variables. Every value is validated at start; a wrong value stops
// the hub with one line naming the setting (by its env var name, which is also how the docs
// name it). Secrets are never echoed back.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { isCidr } from './cidr.js';
import { DEVICE_KINDS, ROLES } from './domain.js';
import { VitalGateError } from './errors.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const httpsUrl = z.url({ protocol: /^https$/ }).refine((s) => !/[?#]/.test(s), {
  message: 'expected an https URL without query or fragment',
});
const cidr = z.string().refine(isCidr, { message: 'expected CIDR blocks like 10.0.0.0/8 or ::1/128' });

/** A list, given as an array in the config file or comma-separated in an env var. */
function commaList<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(item),
  );
}

/** What adaptive access and the geofence do about a signal, per role. */
export const ACCESS_MODES = ['observe', 'step-up', 'deny'] as const;
export type AccessMode = (typeof ACCESS_MODES)[number];

/** Modes per role: `clinician:step-up,admin:observe` in an env var, an object in the config file. */
function rolePolicy() {
  return z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? Object.fromEntries(
              v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
                .map((pair) => {
                  const [role = '', mode = ''] = pair.split(':').map((s) => s.trim());
                  return [role, mode];
                }),
            )
          : v,
      z.partialRecord(
        z.enum(ROLES, { error: `expected role:mode pairs with roles ${ROLES.join(', ')}` }),
        z.enum(ACCESS_MODES, { error: 'expected role:mode pairs with modes observe, step-up or deny' }),
      ),
    )
    .default({});
}

const SITE_FORMAT =
  'expected sites like main@52.3600,4.8900,250 (name@latitude,longitude,radius in metres) separated by ;';
const geofenceSite = z.object(
  {
    name: z.string().regex(/^[A-Za-z0-9 ._-]{1,40}$/, 'expected a site name of letters, digits, space . _ -'),
    lat: z.number({ error: SITE_FORMAT }).min(-90).max(90),
    lon: z.number({ error: SITE_FORMAT }).min(-180).max(180),
    radiusM: z.number({ error: SITE_FORMAT }).min(10).max(100_000),
  },
  { error: SITE_FORMAT },
);

function geofenceSites() {
  return z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(';')
              .map((s) => s.trim())
              .filter(Boolean)
              .map((text) => {
                const m = /^([^@]+)@\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*([\d.]+)$/.exec(text);
                return m
                  ? { name: m[1]!.trim(), lat: Number(m[2]), lon: Number(m[3]), radiusM: Number(m[4]) }
                  : text;
              })
          : v,
      z.array(geofenceSite),
    )
    .default([]);
}

export const configSchema = z
  .object({
    dataDir: z.string().min(1).default('./.vitalgate'),
    masterKey: z
      .string()
      .refine((s) => Buffer.from(s, 'base64').length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(s), {
        message: 'expected base64 of exactly 32 bytes',
      })
      .optional(),
    bind: z
      .string()
      .refine((s) => isIP(s) !== 0, { message: 'expected an IP address' })
      .default('127.0.0.1'),
    publicHost: z
      .string()
      .regex(/^[A-Za-z0-9.:-]{1,253}$/, 'expected a host name or IP address')
      .default('localhost'),
    mqttPort: port.default(8883),
    apiPort: port.default(8443),
    /**
     * Base URL relying parties reach the PKI endpoints at (`/pki/crl`, `/pki/ocsp`); it goes into
     * every certificate issued. Unset: `https://<publicHost>:<apiPort>` (the bound port when 0).
     */
    pkiPublicUrl: z
      .url({ protocol: /^https?$/ })
      .refine((s) => new URL(s).port !== '0', { message: 'expected a URL that names no port 0' })
      .refine((s) => !/[?#]/.test(s), { message: 'expected a base URL without query or fragment' })
      .optional(),
    influxUrl: z.url({ protocol: /^https?$/ }).optional(),
    influxDb: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected letters, digits, _ or -')
      .default('vitalgate'),
    influxUsername: z.string().optional(),
    influxPassword: z.string().optional(),
    /** Port of the managed influxd; 0 = any free port. */
    influxPort: port.default(8086),
    /** First wait before a managed influxd that died is started again; doubles per try up to 30 s. */
    influxRestartDelayMs: positiveInt.max(30_000).default(250),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    // PKI
    deviceCertDays: positiveInt.max(825).default(90),
    enrollmentTokenTtlHours: positiveInt.max(24 * 30).default(24),
    renewalGraceSeconds: nonNegativeInt.max(7 * 24 * 3600).default(600),
    crlValidityHours: positiveInt.max(24 * 30).default(24),
    certRotationDays: positiveInt.default(365),
    /**
     * A device whose current certificate ends within this many days is sent one signed rotate-cert
     * (per certificate) while connected; shorter than deviceCertDays. Unset: a third of
     * deviceCertDays, at most 30 (renewalWindowDays below).
     */
    deviceRenewalWindowDays: positiveInt.max(824).optional(),

    // Ingest
    maxPayloadBytes: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
    maxReadingsPerMessage: positiveInt.max(10_000).default(500),
    clockSkewSeconds: nonNegativeInt.max(24 * 3600).default(300),
    maxReadingAgeDays: positiveInt.default(30),
    /** Check VG-GW-003: the share of a relayed device's readings (7 days) that may be typed in by hand. */
    gatewayManualShareMax: z.coerce.number().min(0).max(1).default(0.2),
    /** Check VG-GW-004: how far a Bluetooth device's clock may drift from its gateway's before it is flagged. */
    gatewayClockDriftLimitSeconds: positiveInt.max(7 * 86_400).default(300),
    /** How far past the last accepted seq of its replay window (or past 0) a message's seq may jump. */
    seqMaxJump: positiveInt.max(Number.MAX_SAFE_INTEGER).default(1_000_000),
    retentionDays: positiveInt.max(36500).default(90),
    // Retention of the control plane's growing tables, in days (core/store/retention.ts holds the
    // policy floors; a value below its floor is flagged at start and by check VG-AUD-002).
    auditRetentionDays: positiveInt.max(36500).default(2190),
    securityEventRetentionDays: positiveInt.max(36500).default(2190),
    deadLetterRetentionDays: positiveInt.max(36500).default(30),
    alertRetentionDays: positiveInt.max(36500).default(365),
    apiSessionRetentionDays: positiveInt.max(36500).default(90),
    loginChallengeRetentionDays: positiveInt.max(36500).default(7),
    checkRunRetentionDays: positiveInt.max(36500).default(365),
    /** VG-DATA-010 fails when a running hub's oldest spooled record is older than this. */
    spoolStallMinutes: positiveInt.max(7 * 24 * 60).default(15),
    spoolQuotaBytes: positiveInt.default(1024 * 1024 * 1024),
    spoolSegmentBytes: positiveInt.default(16 * 1024 * 1024),
    spoolGroupCommitMs: nonNegativeInt.max(100).default(0),
    writerBatchSize: positiveInt.max(50_000).default(5000),
    writerFlushMs: positiveInt.max(60_000).default(200),

    // Broker limits
    deviceMessagesPerSecond: positiveInt.default(50),
    deviceBytesPerSecond: positiveInt.default(256 * 1024),
    connectsPerSourcePerMinute: positiveInt.default(60),
    maxConnections: positiveInt.default(10_000),
    /** A TLS handshake not finished this long after the TCP connect is cut. */
    tlsHandshakeTimeoutSeconds: positiveInt.max(120).default(10),
    /** Connections one source address may hold before their TLS handshake is done. */
    pendingHandshakesPerSource: positiveInt.max(10_000).default(64),
    aclViolationsBeforeDisconnect: positiveInt.default(3),
    aclViolationsBeforeQuarantine: positiveInt.default(10),

    // API
    sessionIdleMinutes: positiveInt.max(24 * 60).default(15),
    sessionMaxHours: positiveInt.max(7 * 24).default(8),
    lockoutThreshold: positiveInt.max(100).default(5),
    lockoutMinutes: positiveInt.default(15),
    breakGlassMinutes: positiveInt.max(24 * 60).default(60),
    /** A sensitive action needs a second factor (passkey or TOTP) given within this many seconds. */
    stepUpMaxAgeSeconds: positiveInt.max(3600).default(300),
    /** Roles whose users must sign in with a passkey (they are led to register one first). */
    passkeyRequiredRoles: commaList(z.enum(ROLES)).default([]),
    /** Networks PHI may be read from, per role that can see PHI. Empty = nowhere. */
    phiNetworks: commaList(cidr).default([
      '127.0.0.0/8',
      '::1/128',
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
    ]),
    corsOrigins: commaList(z.string()).default([]),
    /**
     * Reverse proxies whose X-Forwarded-For the API believes (CIDRs); empty: the TCP peer is the
     * source address. Every network rule (PHI networks, adaptive access, throttles) uses it.
     */
    trustedProxies: commaList(cidr).default([]),
    /** Adaptive access per role: what a PHI read from a new network or at unusual hours needs. */
    adaptiveAccess: rolePolicy(),
    /** Days of a user's PHI reads that make a network or an hour of day usual for them. */
    adaptiveHistoryDays: positiveInt.max(365).default(30),
    /** Site geofence per role: what a PHI read with no position, or outside every site, needs. */
    geofence: rolePolicy(),
    /** The sites of the geofence: `name@latitude,longitude,radius in metres`, separated by `;`. */
    geofenceSites: geofenceSites(),
    /** VG-STAFF-004 fails when a staff device unseen this many days still holds a live session. */
    staffDeviceStaleDays: positiveInt.max(365).default(30),

    // Care-team messaging
    /** Days a message lives before it is destroyed; an admin may set a shorter one per conversation. */
    messageRetentionDays: positiveInt.max(3650).default(30),
    /** Minutes an urgent message may stay unread before it escalates; 0 turns escalation off. */
    messageEscalationMinutes: nonNegativeInt.max(24 * 60).default(10),
    /** Seconds between the hub's runs of message retention and escalation. */
    messageSweepSeconds: positiveInt.max(300).default(15),

    // Web Push to staff browsers (docs/ALERTS.md)
    /** VAPID contact the push services see (mailto: or https:); unset: https://<publicHost>. */
    pushContact: z.url({ protocol: /^(https|mailto)$/ }).optional(),
    /** Hosts (and their subdomains) push endpoints may be on: the browsers' push services. */
    pushServiceHosts: commaList(
      z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'expected host names, comma-separated'),
    ).default(['fcm.googleapis.com', 'push.services.mozilla.com', 'notify.windows.com', 'push.apple.com']),
    /** VG-CARE-005 fails when the VAPID key in use is older than this. */
    vapidKeyMaxAgeDays: positiveInt.max(3650).default(365),

    // Remote patient monitoring programme (docs/RPM.md)
    /** The site's IANA time zone: RPM days of data and months are its calendar dates. */
    rpmTimeZone: z
      .string()
      .refine(
        (zone) => {
          try {
            new Intl.DateTimeFormat('en', { timeZone: zone });
            return true;
          } catch {
            return false;
          }
        },
        { message: 'expected an IANA time zone such as America/New_York' },
      )
      .default('UTC'),

    // Push to the EHR (docs/FHIR.md): unset ehrPushUrl = no push
    /** The EHR's FHIR R4 base URL the hub sends transactions to (https only). */
    ehrPushUrl: httpsUrl.optional(),
    /** SMART Backend Services: the EHR's token endpoint, this hub's client id there, and its private key (PEM, EC P-384 or RSA). */
    ehrPushTokenUrl: httpsUrl.optional(),
    ehrPushClientId: z.string().min(1).max(200).optional(),
    ehrPushKeyFile: z.string().min(1).optional(),
    /** The scopes asked for with SMART. */
    ehrPushScope: z
      .string()
      .regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'expected scopes separated by single spaces')
      .default('system/Patient.crs system/Device.crs system/Observation.crs system/Communication.crs'),
    /** Instead of SMART: a file holding a bearer token, read at each use. */
    ehrPushBearerTokenFile: z.string().min(1).optional(),
    /** PEM CA bundle the EHR's certificate must chain to; unset: the system's CAs. Never unverified. */
    ehrPushCaFile: z.string().min(1).optional(),
    /** Whether Observations are pushed (`all`) or only what else the export holds (`none`). */
    ehrPushObservations: z.enum(['all', 'none']).default('all'),
    /** Whether alerts are pushed as FHIR Flags (active while they last, inactive once cleared). */
    ehrPushAlerts: z.enum(['flags', 'none']).default('flags'),
    /** Device kinds whose Observations are pushed; empty: every kind. */
    ehrPushDeviceKinds: commaList(z.enum(DEVICE_KINDS)).default([]),
    /** Patients (hub ids) whose export is pushed; empty: every patient. */
    ehrPushPatients: commaList(
      z.string().regex(/^pat_[A-Za-z0-9_-]{8,40}$/, 'expected hub patient ids'),
    ).default([]),
    /** Whether the pushed Patient carries name, birth date and MRN (`true`) or is pseudonymous. */
    ehrPushDemographics: z.enum(['true', 'false']).default('false'),
    ehrPushBatchSize: positiveInt.max(1000).default(100),
    /** Tries before an item is set aside for an operator. */
    ehrPushMaxAttempts: positiveInt.max(1000).default(20),
    /** First wait before a failed transaction is tried again; doubles per try, up to 5 minutes, with jitter. */
    ehrPushRetryBaseMs: positiveInt.max(300_000).default(1000),
    /** How far behind now a patient's export is collected (readings still on their way). */
    ehrPushSettleSeconds: nonNegativeInt.max(3600).default(120),
    /** How far back a patient's first collection starts; 0: from when push first sees them. */
    ehrPushBackfillHours: nonNegativeInt.max(24 * 31).default(0),
    ehrPushTimeoutSeconds: positiveInt.max(300).default(30),
    /** VG-FHIR-003 fails when the oldest pending item is older than this. */
    ehrPushStuckMinutes: positiveInt.max(7 * 24 * 60).default(60),

    // Checks and monitoring
    checksIntervalMinutes: nonNegativeInt.default(60),
    backupMaxAgeHours: positiveInt.default(24),
    /** Whole-hub backups: where scheduled ones go (each in its own subdirectory); unset = none. */
    backupDir: z.string().min(1).optional(),
    /** Hours between scheduled backups (fractions allowed; at most 24 days); needs backupDir. */
    backupIntervalHours: z.coerce.number().positive().max(576).default(24),
    /** Scheduled backups kept in backupDir; older ones are deleted after a successful run. */
    backupRetention: positiveInt.max(1000).default(7),
    /** A backup key file (base64 of 32 bytes) instead of one derived from the master key. */
    backupKeyFile: z.string().min(1).optional(),
    /** VG-DATA-009 fails when no restore drill passed within this many days. */
    backupDrillDays: positiveInt.max(3650).default(30),
    /** host:port of an external InfluxDB's backup (RPC) service; default: its URL's host, 8088. */
    influxBackupAddress: z
      .string()
      .regex(/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/, 'expected host:port')
      .optional(),
    deviceSilentMinutes: positiveInt.default(60),
    behaviourWindowSeconds: positiveInt.max(3600).default(10),
    /** How often the running hub scans new PHI reads for staff access anomalies. */
    staffScanSeconds: positiveInt.max(3600).default(60),
    floodMessagesPerSecond: positiveInt.default(20),
    /** Behaviour rules that quarantine a device on their own; the others only raise events. */
    autoQuarantineRules: commaList(
      z.enum(['flood', 'auth_failures', 'flapping', 'new_network', 'silence']),
    ).default(['flood', 'auth_failures']),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.ehrPushUrl !== undefined) {
      const smart = [c.ehrPushTokenUrl, c.ehrPushClientId, c.ehrPushKeyFile].filter((v) => v !== undefined);
      if (smart.length > 0 && smart.length < 3)
        ctx.addIssue({
          code: 'custom',
          path: [
            c.ehrPushTokenUrl === undefined
              ? 'ehrPushTokenUrl'
              : c.ehrPushClientId === undefined
                ? 'ehrPushClientId'
                : 'ehrPushKeyFile',
          ],
          message: 'SMART push needs ehrPushTokenUrl, ehrPushClientId and ehrPushKeyFile together',
        });
      else if ((smart.length === 3) === (c.ehrPushBearerTokenFile !== undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['ehrPushUrl'],
          message:
            'push to the EHR needs one way to authorize: SMART (VITALGATE_EHR_PUSH_TOKEN_URL, _CLIENT_ID, _KEY_FILE) or VITALGATE_EHR_PUSH_BEARER_TOKEN_FILE',
        });
    }
    if (c.deviceRenewalWindowDays !== undefined && c.deviceRenewalWindowDays >= c.deviceCertDays)
      ctx.addIssue({
        code: 'custom',
        path: ['deviceRenewalWindowDays'],
        message: `must be shorter than the device certificate validity (${c.deviceCertDays} days), or every renewed certificate would be renewed again at once`,
      });
  });

export type HubConfig = z.infer<typeof configSchema>;

/** The device renewal window in days: the setting, else a third of the validity, at most 30. */
export function renewalWindowDays(
  config: Pick<HubConfig, 'deviceRenewalWindowDays' | 'deviceCertDays'>,
): number {
  return config.deviceRenewalWindowDays ?? Math.min(30, Math.floor(config.deviceCertDays / 3));
}
export type ConfigKey = keyof HubConfig;

const SECRET_KEYS: ReadonlySet<string> = new Set(['masterKey', 'influxPassword']);

/** `mqttPort` -> `VITALGATE_MQTT_PORT`. */
export function envName(key: string): string {
  return `VITALGATE_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  file?: string;
  /** Values that win over everything (tests, CLI flags). */
  overrides?: Partial<Record<ConfigKey, unknown>>;
}

export function loadConfig(options: LoadConfigOptions = {}): HubConfig {
  const env = options.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const source: Record<string, string> = {};

  const file = options.file ?? env.VITALGATE_CONFIG;
  if (file) {
    for (const [key, value] of Object.entries(readConfigFile(file))) {
      raw[key] = value;
      source[key] = `${key} in ${file}`;
    }
  }
  const known = Object.keys(configSchema.shape);
  for (const key of known) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') {
      raw[key] = value;
      source[key] = envName(key);
    }
  }
  const unknownEnv = Object.keys(env).filter(
    (name) =>
      name.startsWith('VITALGATE_') &&
      name !== 'VITALGATE_CONFIG' &&
      !name.startsWith('VITALGATE_TEST_') &&
      !known.some((k) => envName(k) === name),
  );
  if (unknownEnv.length > 0) {
    throw new VitalGateError('CONFIG_INVALID', `config: ${unknownEnv[0]} is not a VitalGate setting`);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) {
      raw[key] = value;
      source[key] = key;
    }
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const name = source[key] ?? (key ? envName(key) : 'config');
    const got = key && !SECRET_KEYS.has(key) && key in raw ? ` (got ${JSON.stringify(raw[key])})` : '';
    const message =
      issue.code === 'unrecognized_keys'
        ? issue.path.length > 0
          ? `${issue.keys.join(', ')} is not a role (roles: ${ROLES.join(', ')})`
          : `${issue.keys.join(', ')} is not a VitalGate setting`
        : `${issue.message}${got}`;
    throw new VitalGateError('CONFIG_INVALID', `config: ${name}: ${message}`, { setting: name });
  }
  const config = parsed.data;
  return { ...config, dataDir: resolve(config.dataDir) };
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new VitalGateError('CONFIG_INVALID', `config: cannot read config file ${file}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VitalGateError('CONFIG_INVALID', `config: ${file} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VitalGateError('CONFIG_INVALID', `config: ${file} must hold a JSON object of settings`);
  }
  return value as Record<string, unknown>;
}
