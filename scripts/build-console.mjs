#!/usr/bin/env node
// Builds the web console (console/) into static files the hub serves (console/dist): one ES
// module bundle and one stylesheet, minified by esbuild, plus index.html and the icon. Takes well
// under a second; `npm test`, `npm run demo` and `npm run build` run it through bootstrap.
//
//   node scripts/build-console.mjs           # build
//   node scripts/build-console.mjs --check   # build, then fail if the script is over budget
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const src = join(root, 'console');
const out = join(src, 'dist');
/** The budget for the console's JavaScript, gzipped. */
const SCRIPT_BUDGET_BYTES = 250 * 1024;

export async function buildConsole() {
  let build;
  try {
    ({ build } = await import('esbuild'));
  } catch {
    // An install without dev dependencies serves the console it was packed with.
    if (existsSync(join(out, 'index.html'))) return undefined;
    throw new Error('esbuild is missing: run "npm ci" (the console is built from console/ with it)');
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'assets'), { recursive: true });
  await build({
    entryPoints: { app: join(src, 'src', 'main.ts'), 'app-style': join(src, 'src', 'styles.css') },
    outdir: join(out, 'assets'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'safari16', 'firefox110'],
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: join(src, 'tsconfig.json'),
  });
  // The service worker is a classic script of its own (served at /sw.js for the scope /).
  await build({
    entryPoints: { sw: join(src, 'src', 'sw.ts') },
    outdir: join(out, 'assets'),
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2022', 'chrome110', 'safari16', 'firefox110'],
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: join(src, 'tsconfig.json'),
  });
  // esbuild names a CSS entry after its key; the page links /assets/app.css.
  copyFileSync(join(out, 'assets', 'app-style.css'), join(out, 'assets', 'app.css'));
  rmSync(join(out, 'assets', 'app-style.css'));
  copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(src, 'src', 'icon.svg'), join(out, 'assets', 'icon.svg'));
  const script = readFileSync(join(out, 'assets', 'app.js'));
  return { scriptBytes: script.length, scriptGzipBytes: gzipSync(script).length };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await buildConsole();
  if (!sizes) process.exit(0);
  process.stderr.write(
    `console: built console/dist (app.js ${(sizes.scriptGzipBytes / 1024).toFixed(1)} KiB gzip)\n`,
  );
  if (process.argv.includes('--check') && sizes.scriptGzipBytes > SCRIPT_BUDGET_BYTES) {
    process.stderr.write(`console: app.js is over the ${SCRIPT_BUDGET_BYTES / 1024} KiB gzip budget\n`);
    process.exit(1);
  }
}
