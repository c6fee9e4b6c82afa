// Publishes the sandbox-wide environment to other programs in the sandbox after each /init:
// `/run/sandcastle/envs.json` (root only) for the code interpreter, which starts before /init and
// must see the variables in every execution, and E2B's dot files (`/run/e2b/.E2B_SANDBOX_ID`, …) for
// shells opened by other means. Both paths can be moved for tests.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Where the code interpreter reads the variables (src/interpreter/global-envs.ts). */
export const defaultEnvsFile = '/run/sandcastle/envs.json';
const envsFile = process.env.ENVD_ENVS_FILE ?? defaultEnvsFile;
const dotFilesDir = process.env.ENVD_DOTFILES_DIR ?? '/run/e2b';

async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, file);
}

export async function publishEnv(envVars: Record<string, string>): Promise<void> {
  await writeAtomically(envsFile, JSON.stringify(envVars), 0o600);
  await Promise.all(
    Object.entries(envVars)
      .filter(([key]) => key.startsWith('E2B_'))
      .map(([key, value]) => writeAtomically(path.join(dotFilesDir, `.${key}`), value, 0o644)),
  );
}
