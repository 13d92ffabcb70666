// `vitalgate`: the command line. Finds the command from the first one or two words and hands
// the rest to it. Every command has --help; errors are one line on stderr with a non-zero exit.
import { pathToFileURL } from 'node:url';
import { processIo, runCommand, type CommandSpec, type CliIo } from './cli-kit.js';
import { COMMANDS } from './commands/index.js';

function topLevelHelp(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'VitalGate: security hub for medical wearables and home monitors.',
    '',
    'Usage: vitalgate COMMAND [options]      (vitalgate COMMAND --help for details)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Settings come from VITALGATE_* environment variables or --config FILE (see README).',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(topLevelHelp(COMMANDS));
    return 0;
  }
  if (argv[0] === '--version') {
    io.out('vitalgate 0.1.0');
    return 0;
  }
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const spec = COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === argv[0]);
  if (!spec) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0) {
      io.err(
        `vitalgate ${argv[0]}: expected one of: ${group.map((c) => c.name.split(' ')[1]).join(', ')} (see --help)`,
      );
      if (argv[1] === '--help' || argv[1] === '-h' || argv[1] === undefined) {
        io.out(topLevelHelp(group));
        return argv[1] === undefined ? 2 : 0;
      }
      return 2;
    }
    io.err(`vitalgate: unknown command "${argv[0]}" (see vitalgate --help)`);
    return 2;
  }
  return runCommand(spec, argv.slice(spec.name.split(' ').length), io);
}

/** Runs the CLI as the process: sets the exit code, never throws. */
export async function runAsProcess(): Promise<void> {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(
      `vitalgate: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runAsProcess();
