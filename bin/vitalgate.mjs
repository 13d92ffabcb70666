#!/usr/bin/env node
// Entry point for `vitalgate` / `npx vitalgate`. In a checkout (the TypeScript sources are here
// and tsx, a dev dependency, is installed) it runs the sources through tsx, always: a `dist/`
// left over from an earlier `npm run build` never runs instead of the code beside it, so the
// end-to-end tests, which spawn this file, test the sources. An installed package (no tsx) runs
// the compiled CLI (`npm run build`, done before publishing).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const sources = join(root, 'hub', 'cli.ts');
const compiled = join(root, 'dist', 'hub', 'cli.js');
const tsx = existsSync(sources) ? await import('tsx/esm/api').catch(() => undefined) : undefined;
let cli;
if (tsx) {
  tsx.register();
  cli = await import(pathToFileURL(sources).href);
} else if (existsSync(compiled)) {
  cli = await import(pathToFileURL(compiled).href);
} else {
  process.stderr.write(
    'vitalgate: neither the sources with tsx (npm install) nor a build (npm run build) is here\n',
  );
  process.exit(2);
}
await cli.runAsProcess();
