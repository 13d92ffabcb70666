// Runs the real openssl CLI against files in a temp dir, to prove interoperability.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

export interface OpensslResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function openssl(args: string[], input?: Buffer | string): OpensslResult {
  const result = spawnSync('openssl', args, { input, encoding: 'utf8', timeout: 20_000 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const written: string[] = [];
// Dirs written outside a test (beforeAll) go after the test file: each file has its own copy of
// this module, and this hook is registered when the file imports it.
afterAll(() => {
  for (const dir of written.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Removes `dir` when the current test ends, or after the test file when written outside a test. */
function removeLater(dir: string): void {
  try {
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  } catch {
    written.push(dir);
  }
}

/** A temp dir with named files written into it (removed after the test); returns their paths. */
export function writeFiles(files: Record<string, string | Buffer>): Record<string, string> & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vg-openssl-'));
  removeLater(dir);
  const paths: Record<string, string> = { dir };
  for (const [name, content] of Object.entries(files)) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], content);
  }
  return paths as Record<string, string> & { dir: string };
}

/**
 * Runs a command without blocking the event loop, for peers of servers running in the test
 * process itself (mosquitto_pub, openssl s_client against the in-process broker).
 */
export function runPeer(
  command: string,
  args: string[],
  input = '',
  timeoutMs = 15_000,
): Promise<OpensslResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/**
 * `openssl verify` of `leafPem` against the CAs in `chainPem` and the CRLs in `crlPem`
 * (`-crl_check`, or `-crl_check_all` for every CA on the chain): stdout and stderr together.
 */
export function verifyAgainstCrl(
  chainPem: string,
  crlPem: string,
  leafPem: string,
  check: '-crl_check' | '-crl_check_all' = '-crl_check',
): string {
  const f = writeFiles({ 'chain.pem': chainPem, 'crl.pem': crlPem, 'leaf.pem': leafPem });
  const r = openssl(['verify', check, '-CAfile', f['chain.pem']!, '-CRLfile', f['crl.pem']!, f['leaf.pem']!]);
  return r.stdout + r.stderr;
}
