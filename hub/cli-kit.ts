// The CLI's edge: argument parsing, --help, output as text or JSON, and turning errors into one
// line on stderr with a non-zero exit. Commands are plain async functions.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { userInfo } from 'node:os';
import { VitalGateError, isVitalGateError } from '../core/errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  /** e.g. `device add`. */
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec;
  /** Lines after the usage in --help. */
  details?: string[];
  run(args: ParsedArgs, io: CliIo): Promise<number | void>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  json(value: unknown): void;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

export const COMMON_OPTIONS: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  config: { type: 'string' },
};

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
    isTTY: Boolean(process.stdout.isTTY),
    env: process.env,
  };
}

/** Who the CLI acts as in the audit log: the OS user that can read the data dir. */
export function cliActor(): string {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    name = process.env.USER ?? 'unknown';
  }
  return `cli:${name}`;
}

export function usageError(message: string): VitalGateError {
  return new VitalGateError('USAGE', message);
}

export function requireString(args: ParsedArgs, name: string): string {
  const value = args.values[name];
  if (typeof value !== 'string' || value.trim() === '') throw usageError(`--${name} is required`);
  return value;
}

export function optionalString(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function requirePositional(args: ParsedArgs, index: number, what: string): string {
  const value = args.positionals[index];
  if (!value) throw usageError(`${what} is required`);
  return value;
}

/** `24h`, `90m`, `30s`, `7d` -> milliseconds. */
export function parseDuration(text: string, setting: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) throw usageError(`${setting} must look like 30s, 15m, 24h or 7d`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(match[1]) * unit;
  if (ms <= 0) throw usageError(`${setting} must be positive`);
  return ms;
}

export function helpText(spec: CommandSpec): string {
  const lines = [`${spec.summary}`, '', `Usage: vitalgate ${spec.usage}`];
  const options = Object.entries({ ...spec.options, ...COMMON_OPTIONS });
  if (options.length) {
    lines.push('', 'Options:');
    for (const [name, option] of options) {
      const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.type === 'string' ? ' VALUE' : ''}`;
      lines.push(`  ${flag.padEnd(28)}${OPTION_HELP[name] ?? ''}`);
    }
  }
  if (spec.details?.length) lines.push('', ...spec.details);
  return lines.join('\n');
}

/** One description per option name, shared by every command. */
const OPTION_HELP: Record<string, string> = {
  help: 'show this help',
  json: 'print machine-readable JSON on stdout',
  'new-key': 'file with the new master key (base64 of 32 bytes, mode 0600)',
  batch: 'sealed values per transaction (default 500)',
  config: 'read settings from this JSON file (env vars VITALGATE_* win)',
  id: 'device id (letters, digits, . _ -; becomes the certificate CN)',
  kind: 'device kind: wearable, pulse_oximeter, bp_monitor, glucometer, weight_scale, thermometer',
  model: 'device model, for the security evaluation record',
  patient: 'bind the device to this patient id',
  ttl: 'token lifetime, e.g. 24h (default from VITALGATE_ENROLLMENT_TOKEN_TTL_HOURS)',
  reason: 'why (required for lifecycle actions; recorded in the audit log)',
  name: "patient's name (stored encrypted)",
  'birth-date': 'YYYY-MM-DD (stored encrypted)',
  mrn: 'medical record number (stored encrypted)',
  user: 'username',
  username: 'username (lower case)',
  role: 'admin, clinician, engineer or auditor',
  status: 'only devices with this status',
  devices: 'number of simulated devices',
  kinds: 'comma-separated device kinds to simulate',
  rate: 'readings per second per device',
  duration: 'seconds to run (default: until Ctrl-C)',
  scenario: 'clinical scenario to play',
  fault: 'fault or attack to inject',
  to: 'directory to write to',
  from: 'backup directory to read from',
  'key-file': 'backup key file (base64 of 32 bytes) instead of the master key',
  'master-key': 'master key file of the backed-up hub (when VITALGATE_MASTER_KEY is unset)',
  note: 'what the review found',
  evaluated: 'date of the security evaluation, YYYY-MM-DD',
  mds2: "the vendor's MDS2 form is on file",
  'end-of-support': "the vendor's end-of-support date, YYYY-MM-DD",
  'min-firmware': 'lowest approved firmware version',
  set: 'a device setting as NAME=VALUE (repeatable), e.g. statusIntervalS=60',
  wait: 'how long the signed command is valid and the hub waits for its ack, e.g. 30s (default 60s)',
  confirm: 'the id again, to confirm an action that cannot be undone',
};

export async function runCommand(spec: CommandSpec, argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...spec.options, ...COMMON_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
    args = { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
  } catch (err) {
    io.err(`vitalgate ${spec.name}: ${(err as Error).message.split('\n')[0]} (see --help)`);
    return 2;
  }
  if (args.values.help) {
    io.out(helpText(spec));
    return 0;
  }
  try {
    return (await spec.run(args, io)) ?? 0;
  } catch (err) {
    io.err(`vitalgate ${spec.name}: ${errorLine(err)}`);
    return isVitalGateError(err, 'USAGE') ? 2 : 1;
  }
}

function errorLine(err: unknown): string {
  if (isVitalGateError(err)) return err.message.split('\n')[0]!;
  const message = err instanceof Error ? err.message : String(err);
  return `unexpected error: ${message.split('\n')[0]}`;
}
