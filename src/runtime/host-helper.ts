// The server's small static host programs (mount, network sysctls), built into dist/host/ by
// `npm run build` (scripts/build-host-helpers.mjs).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { installDir } from '../config.js';

/** The path of helper `name`, which must have been built. `what` names it in the error. */
export function hostHelper(name: string, what: string): string {
  const file = path.join(installDir, 'dist', 'host', name);
  if (!existsSync(file)) throw new Error(`the ${what} ${file} is missing: build it with \`npm run build\` (scripts/setup-host.sh runs it)`);
  return file;
}
