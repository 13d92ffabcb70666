// bin/vitalgate.mjs, which every end-to-end test spawns (test/support/cli.ts, hub-process.ts):
// in a checkout it runs the TypeScript sources even when a stale dist/ lies beside them; only an
// installed package without tsx runs dist/. Checked on a copy of the entry point in a temp
// layout (sources and dist that say who they are), so the real tree's dist/ is never touched.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function layout(parts: { sources: boolean; dist: boolean; tsx: boolean }): string {
  const root = mkdtempSync(join(tmpdir(), 'vg-entry-'));
  dirs.push(root);
  mkdirSync(join(root, 'bin'));
  copyFileSync(BIN, join(root, 'bin', 'vitalgate.mjs'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  if (parts.tsx) symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  if (parts.sources) {
    mkdirSync(join(root, 'hub'));
    // Type syntax: only tsx can run this file.
    writeFileSync(
      join(root, 'hub', 'cli.ts'),
      "export async function runAsProcess(): Promise<void> { const who: string = 'sources'; console.log(who); }\n",
    );
  }
  if (parts.dist) {
    mkdirSync(join(root, 'dist', 'hub'), { recursive: true });
    writeFileSync(
      join(root, 'dist', 'hub', 'cli.js'),
      "export async function runAsProcess() { console.log('stale dist'); }\n",
    );
  }
  return root;
}

function run(root: string) {
  // tsx keeps its cache in the temp dir: the layout's own, removed with it.
  const result = spawnSync(process.execPath, [join(root, 'bin', 'vitalgate.mjs')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', TMPDIR: root },
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

describe('the vitalgate entry point', () => {
  it('runs the sources in a checkout, even with a stale dist/ beside them', () => {
    expect(run(layout({ sources: true, dist: true, tsx: true }))).toMatchObject({
      code: 0,
      stdout: 'sources',
    });
  });

  it('runs dist/ when installed as a package (no tsx)', () => {
    expect(run(layout({ sources: true, dist: true, tsx: false }))).toMatchObject({
      code: 0,
      stdout: 'stale dist',
    });
    expect(run(layout({ sources: false, dist: true, tsx: true }))).toMatchObject({
      code: 0,
      stdout: 'stale dist',
    });
  });

  it('says in one line what is missing when there is neither', () => {
    const result = run(layout({ sources: true, dist: false, tsx: false }));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'vitalgate: neither the sources with tsx (npm install) nor a build (npm run build) is here',
    );
  });
});
