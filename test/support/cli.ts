// Runs the real `vitalgate` entry point as a child process, as an operator would. In a checkout
// bin/vitalgate.mjs runs the TypeScript sources (through tsx), never a leftover dist/
// (test/e2e/entry-point.test.ts), so these tests always test the code beside them.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/vitalgate.mjs', import.meta.url));

/** The test run's TMPDIR for a child process (global-setup.ts sets it), if there is one. */
export function runTemp(): { TMPDIR?: string } {
  return process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {};
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vitalgate ARGS`; `signal` kills it (for a command that might not end by itself). */
export function runCli(
  args: string[],
  env: Record<string, string>,
  signal?: AbortSignal,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      // TMPDIR: the run's own temp dir (global-setup.ts), so what a child leaves there is seen.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...runTemp(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
