#!/usr/bin/env node
// Entry point for `vitalgate` / `npx vitalgate`. Runs the compiled CLI when the package was
// built (`npm run build`, done before publishing); in a checkout it runs the TypeScript
// sources through tsx.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const compiled = join(root, 'dist', 'hub', 'cli.js');
let cli;
if (existsSync(compiled)) {
  cli = await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(join(root, 'hub', 'cli.ts')).href);
}
await cli.runAsProcess();
