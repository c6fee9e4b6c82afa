// A server started with key checks and no key yet makes one, so the README's first run works:
// it is written, readable by root only, to `<data dir>/api-key` for the user to export.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApiKeyStore } from '../store/api-key-store.js';

export function apiKeyFile(dataDir: string): string {
  return path.join(dataDir, 'api-key');
}

/** The file the first key was written to, or undefined when the server already had keys. */
export async function ensureFirstApiKey(dataDir: string, keys: ApiKeyStore): Promise<string | undefined> {
  if (keys.count() > 0) return undefined;
  const { key } = keys.create('default');
  const file = apiKeyFile(dataDir);
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return file;
}
