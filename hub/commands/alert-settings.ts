// Alert thresholds from the CLI: a patient's rule parameters (`patient alert-settings`) and the
// program-wide defaults (`alert defaults`). Changes go to the store, are checked against the
// same bounds as the API and audited as the CLI user; a running hub's reading path picks them
// up within its settings cache time (5 s).
import { AlertThresholds, type RuleSettings, type SettingChanges } from '../../care/alert-thresholds.js';
import {
  cliActor,
  requirePositional,
  usageError,
  type CliIo,
  type CommandSpec,
  type ParsedArgs,
} from '../cli-kit.js';
import { openContext, readConfig } from '../context.js';

const OPTIONS = {
  set: { type: 'string', multiple: true },
  reset: { type: 'string', multiple: true },
} as const;

const DETAILS = [
  '--set RULE.PARAMETER=VALUE sets a value (repeatable); --reset RULE.PARAMETER drops it, back to the',
  'level below (patient → program → the rule’s built-in default). Without either, it shows the settings.',
  'A change outside the bounds, or a clearing threshold on the wrong side of its raising one, is refused',
  'and nothing is stored. Every change is audited with its old and new values.',
];

const list = (v: ParsedArgs['values'][string]): string[] =>
  Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];

/** `--set spo2_low.threshold=92 --reset spo2_low.clearAt` → `{ spo2_low: { threshold: 92, clearAt: null } }`. */
export function parseChanges(args: ParsedArgs): SettingChanges {
  const out: Record<string, Record<string, number | null>> = {};
  const put = (field: string, value: number | null) => {
    const m = /^([a-z0-9_]+)\.([A-Za-z0-9]+)$/.exec(field);
    if (!m) throw usageError(`${field}: expected RULE.PARAMETER, e.g. spo2_low.threshold`);
    (out[m[1]!] ??= {})[m[2]!] = value;
  };
  for (const item of list(args.values.set)) {
    const eq = item.indexOf('=');
    const value = eq > 0 ? Number(item.slice(eq + 1)) : NaN;
    if (eq <= 0 || item.slice(eq + 1).trim() === '' || !Number.isFinite(value))
      throw usageError(`--set ${item}: expected RULE.PARAMETER=NUMBER, e.g. spo2_low.threshold=92`);
    put(item.slice(0, eq), value);
  }
  for (const field of list(args.values.reset)) put(field, null);
  return out;
}

function print(io: CliIo, rules: RuleSettings[]): void {
  for (const r of rules) {
    const params = Object.entries(r.parameters)
      .map(([name, value]) => `${name}=${value}${r.sources[name] === 'rule' ? '' : ` (${r.sources[name]})`}`)
      .join(' ');
    io.out(`${r.rule.padEnd(20)} ${r.severity.padEnd(8)} ${params}`);
  }
}

async function run(args: ParsedArgs, io: CliIo, patientId: string | undefined): Promise<void> {
  const changes = parseChanges(args);
  const ctx = openContext(readConfig(args, io.env));
  try {
    const thresholds = new AlertThresholds({ store: ctx.store });
    const who = { actor: cliActor() };
    const changed =
      Object.keys(changes).length === 0
        ? undefined
        : patientId
          ? thresholds.changePatient(patientId, changes, who)
          : thresholds.changeProgram(changes, who);
    const rules = patientId ? thresholds.forPatient(patientId) : thresholds.program();
    if (args.values.json) {
      io.json({ ...(patientId ? { patientId } : {}), ...(changed ? { changed } : {}), rules });
      return;
    }
    for (const c of changed ?? []) io.out(`${c.field}: ${c.old} → ${c.new}`);
    if (changed && changed.length === 0) io.out('nothing changed');
    print(io, rules);
  } finally {
    ctx.close();
  }
}

export const patientAlertSettings: CommandSpec = {
  name: 'patient alert-settings',
  summary: 'Show or change a patient’s alert thresholds (raise/clear, sustain, clear-hold per rule).',
  usage:
    'patient alert-settings PATIENT_ID [--set RULE.PARAMETER=VALUE …] [--reset RULE.PARAMETER …] [--json]',
  options: OPTIONS,
  details: DETAILS,
  run: (args, io) => run(args, io, requirePositional(args, 0, 'PATIENT_ID')),
};

export const alertDefaults: CommandSpec = {
  name: 'alert defaults',
  summary:
    'Show or change the program-wide alert thresholds, in force where a patient has none of their own.',
  usage: 'alert defaults [--set RULE.PARAMETER=VALUE …] [--reset RULE.PARAMETER …] [--json]',
  options: OPTIONS,
  details: DETAILS,
  run: (args, io) => run(args, io, undefined),
};
