// `vitalgate device ping` and `device config`: signed commands that the running hub sends to a
// connected device, waiting for its ack or the command's expiry (the same path as the API's
// POST /devices/{id}/ping and /config). Exit 0 only when the device acked.
import { VitalGateError } from '../../core/errors.js';
import { DEVICE_SETTINGS, validateDeviceSettings } from '../../pki/device-settings.js';
import { OPERATOR_COMMAND_TTL } from '../../dashboard-api/services/device-commands.js';
import {
  cliActor,
  optionalString,
  parseDuration,
  requirePositional,
  usageError,
  type CliIo,
  type CommandSpec,
  type ParsedArgs,
} from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';
import { askRunningHub } from '../running-hub.js';

const WHEN_STOPPED = 'signed commands go out through the running hub; start it with "vitalgate start"';
const OUTCOMES_HELP = [
  'Outcomes: acked (exit 0); rejected (the device refused it, with its reason), expired (no ack',
  'in time) or not_connected (the device has no live session): exit 1. Each is audited.',
];

function waitMs(args: ParsedArgs): number {
  const text = optionalString(args, 'wait');
  if (text === undefined) return OPERATOR_COMMAND_TTL.defaultMs;
  const ms = parseDuration(text, '--wait');
  if (ms < OPERATOR_COMMAND_TTL.minMs || ms > OPERATOR_COMMAND_TTL.maxMs)
    throw usageError('--wait must be from 1s to 300s');
  return ms;
}

/** `--set statusIntervalS=60` (repeatable) -> `{ statusIntervalS: 60 }`, checked against DEVICE_SETTINGS. */
export function parseSettings(values: string[]): Record<string, number> {
  if (values.length === 0) throw usageError('name at least one setting with --set NAME=VALUE');
  const settings: Record<string, number> = {};
  for (const entry of values) {
    const match = /^([A-Za-z][A-Za-z0-9]{0,63})=(-?\d+)$/.exec(entry.trim());
    if (!match) throw usageError(`--set ${entry.slice(0, 80)}: expected NAME=WHOLE_NUMBER`);
    settings[match[1]!] = Number(match[2]);
  }
  try {
    return validateDeviceSettings(settings);
  } catch (err) {
    if (err instanceof VitalGateError) throw usageError(err.message);
    throw err;
  }
}

async function sendThroughHub(
  args: ParsedArgs,
  io: CliIo,
  params: { type: 'ping' } | { type: 'config'; settings: Record<string, number> },
): Promise<number> {
  const id = requirePositional(args, 0, 'device ID');
  const ttlMs = waitMs(args);
  const config = readConfig(args, io.env);
  const ctx = openContext(config);
  try {
    ctx.store.devices.require(id);
    const result = await askRunningHub(
      config,
      ctx.store,
      { kind: 'device.command', target: id, params: { ...params, ttlMs }, actor: cliActor() },
      { whenStopped: WHEN_STOPPED, maxWaitMs: ttlMs + 10_000 },
    );
    if (args.values.json) io.json(result);
    else {
      const detail = typeof result.detail === 'string' ? ` (${result.detail})` : '';
      const line = `${params.type} to ${id}: ${String(result.outcome)}${detail}`;
      if (result.outcome === 'acked') io.out(line);
      else io.err(line);
    }
    return result.outcome === 'acked' ? 0 : 1;
  } finally {
    ctx.close();
  }
}

export const devicePing: CommandSpec = {
  name: 'device ping',
  summary: 'Send a signed ping to a connected device through the running hub and wait for its ack.',
  usage: 'device ping ID [--wait 60s] [--json]',
  options: { wait: { type: 'string' } },
  details: OUTCOMES_HELP,
  run: (args, io) => sendThroughHub(args, io, { type: 'ping' }),
};

export const deviceConfig: CommandSpec = {
  name: 'device config',
  summary: 'Change settings on a connected device with a signed config command, through the running hub.',
  usage: 'device config ID --set NAME=VALUE [--set …] [--wait 60s] [--json]',
  options: { set: { type: 'string', multiple: true }, wait: { type: 'string' } },
  details: [
    'Settings: ' +
      Object.entries(DEVICE_SETTINGS)
        .map(([name, s]) => `${name} (${s.meaning}, ${s.min} to ${s.max})`)
        .join('; ') +
      '.',
    ...OUTCOMES_HELP,
  ],
  run(args, io) {
    const raw = args.values.set;
    const settings = parseSettings(Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : []);
    return sendThroughHub(args, io, { type: 'config', settings });
  },
};
