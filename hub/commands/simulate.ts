// `vitalgate simulate`: a fleet of simulated devices against a running hub. The devices make their
// own keys, enroll with one-time tokens over HTTPS and publish over mutual-TLS MQTT. Who registers
// them and hands out the tokens:
//   local   (default) the data dir of the hub on this machine, with the CLI's authority;
//   api     an admin or engineer account (VG_SIMULATE_USERNAME, _PASSWORD, _TOTP_SECRET);
//   tokens  pre-made tokens from --tokens FILE.
// `vitalgate demo` runs this command (local mode) once its hub is ready.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HubConfig } from '../../core/config.js';
import { MEASURING_KINDS, type DeviceKind } from '../../core/domain.js';
import { VitalGateError } from '../../core/errors.js';
import type { ControlPlane } from '../../core/store/control-plane.js';
import type { Keyring } from '../../core/keyring.js';
import { DeviceRegistry } from '../../dashboard-api/services/device-registry.js';
import { CertificateAuthority } from '../../pki/authority.js';
import { DeviceEnrollment } from '../../pki/enrollment.js';
import { EnrollmentTokenService } from '../../pki/enrollment-tokens.js';
import { HttpsEnrollment, InProcessEnrollment } from '../../simulators/enrollment-transport.js';
import { FAULT_NAMES, isFaultName, type FaultName } from '../../simulators/faults.js';
import { fleetStateDir, runFleet, type FleetOptions } from '../../simulators/fleet.js';
import {
  ApiProvisioner,
  TokenFileProvisioner,
  apiCredentialsFrom,
  readTokenFile,
  type FleetProvisioner,
} from '../../simulators/fleet-provisioning.js';
import { renderProgress, renderSummary } from '../../simulators/fleet-summary.js';
import { HubApi } from '../../simulators/hub-api.js';
import { CombinedReadback, MetricsReadback } from '../../simulators/hub-readback.js';
import { LocalHubProvisioner } from '../../simulators/local-hub.js';
import { GatewayRegistry } from '../../dashboard-api/services/gateway-registry.js';
import { PatientRegistry } from '../../core/patient-registry.js';
import {
  GATEWAY_FAULTS,
  runGatewayFleet,
  type GatewayFault,
  type GatewayProvisioner,
} from '../../simulators/gateway-fleet.js';
import { SCENARIO_NAMES, isScenarioName, type ScenarioName } from '../../simulators/scenarios.js';
import { cliActor, optionalString, usageError, type CommandSpec, type ParsedArgs } from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';
import { liveHubFromStateFile } from '../checks/live.js';

export const DEFAULT_STATE_DIR = './.vitalgate-sim';

function number(args: ParsedArgs, name: string, fallback: number | undefined): number | undefined {
  const text = optionalString(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw usageError(`--${name} must be a number (got "${text}")`);
  return value;
}

function kindsOf(args: ParsedArgs): DeviceKind[] {
  const text = optionalString(args, 'kinds');
  if (text === undefined) return [...MEASURING_KINDS];
  const kinds = text.split(',').map((k) => k.trim());
  const bad = kinds.find((k) => !(MEASURING_KINDS as readonly string[]).includes(k));
  if (bad !== undefined) throw usageError(`unknown kind "${bad}" (one of ${MEASURING_KINDS.join(', ')})`);
  return kinds as DeviceKind[];
}

function faultsOf(args: ParsedArgs): FaultName[] {
  const text = optionalString(args, 'fault');
  if (text === undefined) return [];
  if (text === 'all') return [...FAULT_NAMES];
  const faults = text.split(',').map((f) => f.trim());
  const bad = faults.find((f) => !isFaultName(f));
  if (bad !== undefined)
    throw usageError(`unknown fault "${bad}" (one of ${FAULT_NAMES.join(', ')}, or all)`);
  return faults as FaultName[];
}

function scenarioOf(args: ParsedArgs): ScenarioName | 'mix' | undefined {
  const name = optionalString(args, 'scenario');
  if (name !== undefined && name !== 'mix' && !isScenarioName(name)) {
    throw usageError(`unknown scenario "${name}" (one of ${SCENARIO_NAMES.join(', ')}, or mix)`);
  }
  return name;
}

/** The host devices and this process reach a hub bound to `bind` at (its certificate names both). */
function reachableHost(bind: string): string {
  return ['127.0.0.1', '0.0.0.0', '::', '::1'].includes(bind) ? 'localhost' : bind;
}

interface LocalParts {
  config: HubConfig;
  store: ControlPlane;
  keyring: Keyring;
  authority: () => Promise<CertificateAuthority>;
}

/** Local provisioning on a hub's control plane (its data dir, or the running hub's own objects). */
function localProvisioner(parts: LocalParts): LocalHubProvisioner {
  const tokens = new EnrollmentTokenService(
    parts.store.enrollmentTokens,
    parts.store.devices,
    parts.store.audit,
  );
  return new LocalHubProvisioner({
    config: parts.config,
    store: parts.store,
    keyring: parts.keyring,
    registrar: new DeviceRegistry(parts.store, tokens, parts.config, undefined),
    authority: parts.authority,
    actor: cliActor(),
  });
}

function readCa(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new VitalGateError('USAGE', `cannot read the hub CA bundle ${path} (--ca FILE)`);
  }
}

interface Setup {
  options: Omit<FleetOptions, 'devices' | 'kinds' | 'rateHz' | 'stateDir'> & { caBundle: string };
  /** Registers, binds and reads back for gateway fleets (local mode only). */
  gateways?: GatewayProvisioner;
  close(): void;
}

/** Gateway households on the local hub's control plane, with the CLI's authority. */
function gatewayProvisioner(parts: Pick<LocalParts, 'config' | 'store' | 'keyring'>): GatewayProvisioner {
  const { store, keyring, config } = parts;
  const tokens = new EnrollmentTokenService(store.enrollmentTokens, store.devices, store.audit);
  const devices = new DeviceRegistry(store, tokens, config, undefined);
  const gateways = new GatewayRegistry(store, undefined);
  const patients = new PatientRegistry(store.patients, keyring, store.audit);
  const actor = cliActor();
  return {
    addPatient: (name) => patients.add({ name, birthDate: '1950-01-01' }, actor).id,
    register: (id, kind, patientId) => void devices.register({ id, kind, patientId }, actor),
    token: (id) => tokens.issue(id, 3_600_000, actor).token,
    bind: (gatewayId, deviceId, systemId) => void gateways.bind(gatewayId, deviceId, { systemId }, actor),
    refusals: (gatewayId) =>
      store.audit
        .list({ action: 'broker.acl', target: `device:${gatewayId}`, outcome: 'denied' })
        .map((e) => e.details as { code: string; relayedDevice?: string }),
    deadLetters: (deviceId) => store.deadLetters.list({ deviceId, limit: 1000 }).map((d) => d.reason),
  };
}

async function localSetup(args: ParsedArgs, env: NodeJS.ProcessEnv): Promise<Setup> {
  const config = readConfig(args, env);
  const live = liveHubFromStateFile(config);
  if (!live) {
    throw new VitalGateError(
      'HUB_NOT_RUNNING',
      `no hub is running on ${config.dataDir}: start it with "vitalgate start"`,
    );
  }
  const ctx = openContext(config);
  let authority: Promise<CertificateAuthority> | undefined;
  // Certificates made here (the expired-certificate fault) name the running hub's PKI endpoints.
  const loadAuthority = () =>
    (authority ??= CertificateAuthority.load({ store: ctx.store, keyring: ctx.keyring, config }).then((a) => {
      if (live.api) a.useApiPort(live.api.port);
      return a;
    }));
  const caFile = resolve(config.dataDir, 'ca.pem');
  const caBundle = existsSync(caFile) ? readCa(caFile) : (await loadAuthority()).caBundlePem();
  const host = reachableHost(config.bind);
  const broker = { host, port: live.mqtt.port };
  const api = live.api
    ? new HubApi({ baseUrl: `https://${host}:${live.api.port}`, ca: caBundle })
    : undefined;
  const provisioner = localProvisioner({
    config,
    store: ctx.store,
    keyring: ctx.keyring,
    authority: loadAuthority,
  });
  let inProcess: InProcessEnrollment | undefined;
  if (!api) {
    const a = await loadAuthority();
    const tokens = new EnrollmentTokenService(ctx.store.enrollmentTokens, ctx.store.devices, ctx.store.audit);
    inProcess = new InProcessEnrollment({
      enrollment: new DeviceEnrollment(ctx.store, a, tokens, config),
      authority: a,
      mqtt: broker,
    });
  }
  return {
    options: {
      caBundle,
      provisioner,
      broker,
      enrollment: (localAddress) => (api ? new HttpsEnrollment(api.from(localAddress)) : inProcess!),
      readback: new CombinedReadback(
        api ? new MetricsReadback(api) : { source: 'none', metrics: async () => undefined },
        provisioner.records,
      ),
      behaviourWindowS: config.behaviourWindowSeconds,
    },
    gateways: gatewayProvisioner({ config, store: ctx.store, keyring: ctx.keyring }),
    close: () => ctx.close(),
  };
}

async function remoteSetup(args: ParsedArgs, env: NodeJS.ProcessEnv, mode: 'api' | 'tokens'): Promise<Setup> {
  const caPath = optionalString(args, 'ca') ?? resolve(env.VITALGATE_DATA_DIR ?? './.vitalgate', 'ca.pem');
  const caBundle = readCa(caPath);
  const api = new HubApi({ baseUrl: optionalString(args, 'api') ?? 'https://localhost:8443', ca: caBundle });
  let provisioner: FleetProvisioner;
  let premade: FleetOptions['premade'];
  if (mode === 'tokens') {
    const file = optionalString(args, 'tokens');
    if (!file) throw usageError('--enroll tokens needs --tokens FILE');
    const tokens = readTokenFile(file);
    provisioner = new TokenFileProvisioner(tokens);
    premade = tokens;
  } else {
    const credentials = apiCredentialsFrom(env);
    if (!credentials)
      throw usageError(
        '--enroll api needs VG_SIMULATE_USERNAME, VG_SIMULATE_PASSWORD and VG_SIMULATE_TOTP_SECRET',
      );
    provisioner = await ApiProvisioner.login(api, credentials);
  }
  return {
    options: {
      caBundle,
      provisioner,
      premade,
      enrollment: (localAddress) => new HttpsEnrollment(api.from(localAddress)),
      readback: new CombinedReadback(new MetricsReadback(api), provisioner.records),
    },
    close: () => {},
  };
}

function modeOf(args: ParsedArgs, env: NodeJS.ProcessEnv): 'local' | 'api' | 'tokens' {
  const explicit = optionalString(args, 'enroll');
  if (explicit !== undefined) {
    if (explicit !== 'local' && explicit !== 'api' && explicit !== 'tokens') {
      throw usageError('--enroll must be local, api or tokens');
    }
    return explicit;
  }
  if (optionalString(args, 'tokens')) return 'tokens';
  return apiCredentialsFrom(env) ? 'api' : 'local';
}

export const simulate: CommandSpec = {
  name: 'simulate',
  summary: 'Run a fleet of simulated devices against the running hub: signals, scenarios and faults.',
  usage:
    'simulate [--devices N] [--kinds k1,k2] [--rate HZ] [--duration S] [--scenario NAME] [--fault NAME[,NAME]|all] [--json]',
  options: {
    devices: { type: 'string' },
    kinds: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    scenario: { type: 'string' },
    fault: { type: 'string' },
    seed: { type: 'string' },
    prefix: { type: 'string' },
    enroll: { type: 'string' },
    tokens: { type: 'string' },
    api: { type: 'string' },
    ca: { type: 'string' },
    state: { type: 'string' },
    'measure-every': { type: 'string' },
    gateways: { type: 'string' },
    'devices-per-gateway': { type: 'string' },
  },
  details: [
    `Defaults: 10 devices of every kind, 1 message/s each, until Ctrl-C. Scenarios: ${SCENARIO_NAMES.join(', ')};`,
    '  mix gives each patient (one device of each kind) the next scenario in turn.',
    `Faults: ${FAULT_NAMES.join(', ')}.`,
    'Enrollment (--enroll): local (default; registers devices in the data dir of the hub running here),',
    '  api (admin/engineer from VG_SIMULATE_USERNAME, VG_SIMULATE_PASSWORD, VG_SIMULATE_TOTP_SECRET; --api URL --ca FILE),',
    '  tokens (--tokens FILE of {deviceId, token, kind} JSON lines; --api URL --ca FILE).',
    `Other options: --seed S (signals), --prefix P (device ids), --state DIR (device keys; default ${DEFAULT_STATE_DIR}),`,
    '  --measure-every S (BP, glucose, scale, thermometer measure every S seconds; 0 = daily schedule; default 10).',
    'Gateways: --gateways N [--devices-per-gateway K] (local mode) runs N phone or home-hub gateways, each relaying',
    '  K Bluetooth devices of one household (a cuff, a scale, a glucometer with a drifting clock, manual entries);',
    `  gateway faults: ${GATEWAY_FAULTS.join(', ')} (docs/GATEWAYS.md).`,
    'Exit 1 when a fault was not met the way the spec says. See docs/SIMULATORS.md.',
  ],
  async run(args, io) {
    if (optionalString(args, 'gateways') !== undefined) return runGateways(args, io);
    const kinds = kindsOf(args);
    const faults = faultsOf(args);
    const scenario = scenarioOf(args);
    const devices = number(args, 'devices', 10)!;
    const rateHz = number(args, 'rate', 1)!;
    const durationS = number(args, 'duration', undefined);
    const measureEveryS = number(args, 'measure-every', 10)!;
    // Ctrl-C (or the demo stopping) ends the run early: a short drain, then the summary. Repeated
    // signals while it winds down are ignored, so the summary is always printed.
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let close = () => {};
    try {
      const mode = modeOf(args, io.env);
      const setup = await (mode === 'local' ? localSetup(args, io.env) : remoteSetup(args, io.env, mode));
      close = setup.close;
      const progress = io.isTTY && !args.values.json;
      if (progress) io.err(`preparing ${devices} devices (devices without a certificate enroll first)...`);
      const { caBundle, ...options } = setup.options;
      const summary = await runFleet(
        {
          ...options,
          devices,
          kinds,
          rateHz,
          durationS,
          scenario,
          faults,
          measureEveryS,
          seed: optionalString(args, 'seed') ?? 1,
          prefix: optionalString(args, 'prefix') ?? 'sim',
          stateDir: fleetStateDir(resolve(optionalString(args, 'state') ?? DEFAULT_STATE_DIR), caBundle),
          ...(progress ? { onProgress: (p) => process.stderr.write(`\r${renderProgress(p)}\u001b[K`) } : {}),
        },
        abort.signal,
      );
      if (progress) process.stderr.write('\n');
      if (args.values.json) io.json(summary);
      else for (const line of renderSummary(summary)) io.out(line);
      return summary.faults.some((f) => f.asExpected === false) ? 1 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A signal sent while the process winds down (the demo stopping it right after a Ctrl-C that
      // reached it too) must not turn a clean finish into exit 130.
      process.once('SIGINT', () => {});
      process.once('SIGTERM', () => {});
      close();
    }
  },
};

function gatewayFaultsOf(args: ParsedArgs): GatewayFault[] {
  const text = optionalString(args, 'fault');
  if (text === undefined) return [];
  if (text === 'all') return [...GATEWAY_FAULTS];
  const faults = text.split(',').map((f) => f.trim());
  const bad = faults.find((f) => !(GATEWAY_FAULTS as readonly string[]).includes(f));
  if (bad !== undefined)
    throw usageError(`unknown gateway fault "${bad}" (one of ${GATEWAY_FAULTS.join(', ')}, or all)`);
  return faults as GatewayFault[];
}

/** `simulate --gateways N`: gateway households against the hub running on this data dir. */
async function runGateways(args: ParsedArgs, io: Parameters<CommandSpec['run']>[1]): Promise<number> {
  const gateways = number(args, 'gateways', 1)!;
  const perGateway = number(args, 'devices-per-gateway', 4)!;
  if (!Number.isInteger(gateways) || gateways < 1 || gateways > 1000)
    throw usageError('--gateways must be a whole number from 1 to 1000');
  if (!Number.isInteger(perGateway) || perGateway < 1 || perGateway > 50)
    throw usageError('--devices-per-gateway must be a whole number from 1 to 50');
  const faults = gatewayFaultsOf(args);
  if (faults.includes('gateway-replay') && gateways < 2)
    throw usageError('the gateway-replay fault needs --gateways 2 or more');
  if (modeOf(args, io.env) !== 'local')
    throw usageError('--gateways runs in local mode only (--enroll local)');
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const setup = await localSetup(args, io.env);
  try {
    const summary = await runGatewayFleet(
      {
        gateways,
        devicesPerGateway: perGateway,
        durationS: number(args, 'duration', 10)!,
        measureEveryS: number(args, 'measure-every', 5)!,
        faults,
        prefix: optionalString(args, 'prefix') ?? 'sim',
        broker: setup.options.broker!,
        caBundle: setup.options.caBundle,
        enrollment: setup.options.enrollment('127.0.0.1'),
        provisioner: setup.gateways!,
      },
      abort.signal,
    );
    if (args.values.json) io.json(summary);
    else {
      io.out(
        `${summary.gateways} gateway(s), ${summary.devices} device(s): ${summary.published} readings relayed (${summary.manual} manual)`,
      );
      for (const f of summary.faults)
        io.out(
          `fault ${f.fault}: expected ${f.expected}, observed ${f.observed}${f.asExpected ? '' : '  <- NOT AS EXPECTED'}`,
        );
    }
    return summary.faults.some((f) => !f.asExpected) ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    setup.close();
  }
}
