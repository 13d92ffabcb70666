// Runs the real openssl CLI against files in a temp dir, to prove interoperability.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** A temp dir with named files written into it; returns their paths. */
export function writeFiles(files: Record<string, string | Buffer>): Record<string, string> & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vg-openssl-'));
  const paths: Record<string, string> = { dir };
  for (const [name, content] of Object.entries(files)) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], content);
  }
  return paths as Record<string, string> & { dir: string };
}
