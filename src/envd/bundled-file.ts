// The helper files of envd and the interpreter: beside their bundles in a sandbox
// (/opt/sandcastle/lib/<name>), or, when they run from the sources (unit tests), the ones
// `npm run build` made in dist/sandbox/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The helper's path, undefined when neither place has it. */
export function bundledFile(name: string): string | undefined {
  return [new URL(`./${name}`, import.meta.url), new URL(`../../dist/sandbox/${name}`, import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((f) => existsSync(f));
}
