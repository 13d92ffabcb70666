// Writes docs/CHECKS.md from the check modules: npx tsx scripts/checks-catalogue.ts
import { writeFileSync } from 'node:fs';
import { checksCatalogue } from '../hub/checks/catalogue.js';

writeFileSync(new URL('../docs/CHECKS.md', import.meta.url), checksCatalogue());
console.log('docs/CHECKS.md written');
