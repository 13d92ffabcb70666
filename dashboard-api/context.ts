// Everything the routes use, built once per server from the hub's dependencies.
import type { Registry } from 'prom-client';
import type { AlertLifecycle } from '../care/alert-lifecycle.js';
import type { PushNotifier } from '../care/push-notifications.js';
import type { HubConfig } from '../core/config.js';
import type { Role } from '../core/domain.js';
import { VitalGateError } from '../core/errors.js';
import type { Keyring } from '../core/keyring.js';
import type { Logger } from '../core/logger.js';
import { PatientErasure } from '../core/patient-erasure.js';
import { PatientRegistry } from '../core/patient-registry.js';
import { ApiSessionRepository } from '../core/store/api-sessions.js';
import { BreakGlassGrantRepository } from '../core/store/break-glass-grants.js';
import type { ControlPlane } from '../core/store/control-plane.js';
import { LoginChallengeRepository } from '../core/store/login-challenges.js';
import { PhiReadHistory } from '../core/store/phi-read-history.js';
import { StaffDeviceRepository } from '../core/store/staff-devices.js';
import type { CertificateAuthority } from '../pki/authority.js';
import { createMessaging, type Messaging } from '../messaging/messaging.js';
import { OnCallRota } from '../care/on-call.js';
import { DeviceEnrollment } from '../pki/enrollment.js';
import { EnrollmentTokenService } from '../pki/enrollment-tokens.js';
import type { DeviceLifecycle } from '../pki/lifecycle.js';
import { AdaptiveAccess } from './access/adaptive-access.js';
import { createRpmProgramme, type RpmProgramme } from '../rpm/programme.js';
import type { SensedDaySource } from '../rpm/sensed-days-source.js';
import { PhiGuard } from './access/phi-guard.js';
import { LoginService } from './auth/login.js';
import { LoginThrottle } from './auth/login-throttle.js';
import { PasskeyCeremonies } from './auth/passkeys.js';
import { TotpStepUp } from './auth/totp-step-up.js';
import { WebAuthnChallengeRepository } from '../core/store/webauthn-challenges.js';
import { SessionService } from './auth/sessions.js';
import { StaffDeviceService, type StaffDevicePasskeys } from './auth/staff-devices.js';
import { TotpVerifier } from './auth/totp.js';
import { ApiMetrics } from './metrics.js';
import type {
  ChecksService,
  DeviceCommandPort,
  DeviceActivityPort,
  DeviceSessionKicker,
  LiveFeed,
  ReadinessProbe,
  TelemetryReader,
} from './ports.js';
import { BreakGlass } from './services/break-glass.js';
import { DeviceCommands } from './services/device-commands.js';
import { DeviceRegistry } from './services/device-registry.js';
import { GatewayRegistry } from './services/gateway-registry.js';
import { UserDirectory } from './services/user-directory.js';
import { TelemetryService } from './telemetry/telemetry-service.js';

export interface ApiDeps {
  config: HubConfig;
  store: ControlPlane;
  keyring: Keyring;
  authority: CertificateAuthority;
  /** Built by the hub with the broker as its SessionKicker and the command publisher as WipeCommander. */
  lifecycle: DeviceLifecycle;
  /** The hub's shared registry (broker, ingest and API metrics together). */
  registry: Registry;
  telemetry: TelemetryReader;
  live: LiveFeed;
  readiness?: readonly ReadinessProbe[];
  checks?: ChecksService;
  /** Ends a device's live session when its patient binding changes (the broker). */
  kicker?: DeviceSessionKicker;
  /** Live sessions and last-seen times of devices (the broker); without it the list says unknown. */
  deviceActivity?: DeviceActivityPort;
  /** Signed ping and config commands (the hub's command publisher); without it they answer 503. */
  commands?: DeviceCommandPort;
  logger?: Logger;
  /** What enrollment replies tell devices to connect to; defaults to publicHost and mqttPort. */
  mqttEndpoint?: { host: string; port: number };
  /** Networks each PHI role may read PHI from; defaults to `{ clinician: config.phiNetworks }`. */
  phiNetworks?: Partial<Record<Role, readonly string[]>>;
  /** Networks `/metrics` answers; loopback by default. */
  metricsNetworks?: readonly string[];
  rateLimits?: { perMinute?: number; authPerMinute?: number };
  /** How often live streams re-check their session (ms). */
  liveCheckMs?: number;
  /** Tells the reading path that alert settings changed (a patient's, or the program's: undefined). */
  alertSettingsChanged?: (patientId?: string) => void;
  /** Snooze, resolve and alert history (the hub's; without it those routes answer 503). */
  alertLifecycle?: AlertLifecycle;
  /** Web Push to staff browsers (the hub's; without it the test notification answers 503). */
  pushNotifier?: PushNotifier;
  /** Days of sensed data for the RPM programme (InfluxDB's minute rollups); without it those reads answer 503. */
  rpmDays?: SensedDaySource;
  now?: () => number;
  /** Hour of day (0-23) of an instant for adaptive access; default: the hub's local time. */
  hourOf?: (at: number) => number;
  /** Revokes the passkeys bound to a staff device marked lost (the passkey repository). */
  staffDevicePasskeys?: StaffDevicePasskeys;
  /**
   * Seeds every patient's latest vitals (what My patients shows) in the background once the
   * server is ready, so the first summary after a start does not read storage (the hub's).
   */
  primeSummaries?: boolean;
}

export interface ApiContext {
  deps: ApiDeps;
  config: HubConfig;
  store: ControlPlane;
  now: () => number;
  metrics: ApiMetrics;
  sessions: SessionService;
  login: LoginService;
  totp: TotpVerifier;
  /** Passkey (WebAuthn) registration, sign-in and step-up. */
  passkeys: PasskeyCeremonies;
  /** Step-up with an authenticator code. */
  totpStepUp: TotpStepUp;
  guard: PhiGuard;
  adaptive: AdaptiveAccess;
  staffDevices: StaffDeviceService;
  breakGlass: BreakGlass;
  patients: PatientRegistry;
  users: UserDirectory;
  devices: DeviceRegistry;
  /** Gateways and the Bluetooth devices bound to them (docs/GATEWAYS.md). */
  gateways: GatewayRegistry;
  deviceCommands: DeviceCommands;
  erasure: PatientErasure;
  enrollment: DeviceEnrollment;
  telemetry: TelemetryService;
  /** Care-team conversations (messaging/); the hub runs `messaging.tick()` on its timer. */
  messaging: Messaging;
  mqttEndpoint: { host: string; port: number };
  /** The RPM programme: enrolments, time, the monthly ledger (rpm/). */
  rpm: RpmProgramme;
  /** Closers of the open live streams, ended when the server closes. */
  liveStreams: Set<(reason: string) => void>;
  /** With `primeSummaries`: settles once every patient's summary is seeded (how many failed). */
  summariesPrimed?: Promise<number>;
}

export function createApiContext(deps: ApiDeps): ApiContext {
  const { config, store, keyring } = deps;
  const now = deps.now ?? Date.now;
  const sessionRepo = new ApiSessionRepository(store.db);
  const grants = new BreakGlassGrantRepository(store.db);
  const sessions = new SessionService(sessionRepo, store.users, store.audit, config, now);
  const metrics = new ApiMetrics(deps.registry, () => sessions.liveCount());
  const totp = new TotpVerifier('VitalGate', now);
  const throttle = new LoginThrottle(store.loginThrottle, config, now);
  const login = new LoginService({
    users: store.users,
    challenges: new LoginChallengeRepository(store.db),
    sessions,
    totp,
    keyring,
    audit: store.audit,
    securityEvents: store.securityEvents,
    throttle,
    config,
    now,
  });
  const guard = new PhiGuard({
    patients: store.patients,
    grants,
    audit: store.audit,
    securityEvents: store.securityEvents,
    metrics,
    phiNetworks: deps.phiNetworks ?? { clinician: config.phiNetworks },
    now,
  });
  const adaptive = new AdaptiveAccess({
    history: new PhiReadHistory(store.db),
    audit: store.audit,
    config,
    now,
    hourOf: deps.hourOf ?? ((at) => new Date(at).getHours()),
  });
  sessions.on('ended', (hash) => adaptive.forget(hash));
  const staffDevices = new StaffDeviceService({
    devices: new StaffDeviceRepository(store.db),
    sessions,
    audit: store.audit,
    securityEvents: store.securityEvents,
    passkeys: deps.staffDevicePasskeys ?? store.passkeys,
    now,
  });
  const tokens = new EnrollmentTokenService(store.enrollmentTokens, store.devices, store.audit, now);
  return {
    deps,
    config,
    store,
    now,
    metrics,
    sessions,
    login,
    totp,
    passkeys: new PasskeyCeremonies({
      passkeys: store.passkeys,
      challenges: new WebAuthnChallengeRepository(store.db),
      users: store.users,
      sessions,
      audit: store.audit,
      securityEvents: store.securityEvents,
      config,
      now,
    }),
    totpStepUp: new TotpStepUp({ users: store.users, keyring, totp, sessions, throttle, audit: store.audit }),
    guard,
    adaptive,
    staffDevices,
    breakGlass: new BreakGlass(grants, store, config, now),
    patients: new PatientRegistry(store.patients, keyring, store.audit),
    users: new UserDirectory(store, sessions, grants, now),
    devices: new DeviceRegistry(store, tokens, config, deps.kicker),
    gateways: new GatewayRegistry(store, deps.kicker),
    deviceCommands: new DeviceCommands(store.devices, deps.commands),
    erasure: new PatientErasure(store, keyring, deps.kicker),
    enrollment: new DeviceEnrollment(store, deps.authority, tokens, config, now),
    telemetry: new TelemetryService(deps.telemetry, deps.live, now),
    messaging: createMessaging({
      store,
      keyring,
      retentionDays: config.messageRetentionDays,
      escalationMinutes: config.messageEscalationMinutes,
      mayReadPatient: (username, patientId) => guard.basis(username, patientId) !== undefined,
      onCall: (teamId) => new OnCallRota(store, now).onCall(teamId),
      now,
    }),
    mqttEndpoint: deps.mqttEndpoint ?? { host: config.publicHost, port: config.mqttPort },
    rpm: createRpmProgramme({
      store,
      keyring,
      timeZone: config.rpmTimeZone,
      telemetry: deps.telemetry,
      days: deps.rpmDays ?? {
        presences: () =>
          Promise.reject(new VitalGateError('RPM_UNAVAILABLE', 'days of data cannot be read here')),
        lastSensed: () =>
          Promise.reject(new VitalGateError('RPM_UNAVAILABLE', 'days of data cannot be read here')),
      },
      now,
    }),
    liveStreams: new Set(),
  };
}
