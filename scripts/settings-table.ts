// Rewrites the settings tables of README.md from the catalogue in src/config.ts (npm run docs:settings).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installDir } from '../src/config.js';
import { withSettingsTable } from '../src/config-docs.js';

const readme = path.join(installDir, 'README.md');
const before = readFileSync(readme, 'utf8');
const after = withSettingsTable(before);
if (after !== before) writeFileSync(readme, after);
console.log(after === before ? 'README.md settings table is up to date' : 'README.md settings table rewritten');
