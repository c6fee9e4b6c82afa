// `sandcastle keys …`: the API keys of the server on this machine, made and removed in its
// database directly (no server needs to run).
import type { Command } from 'commander';
import { dataFiles, loadConfig } from '../config.js';
import { ApiKeyStore } from '../store/api-key-store.js';
import { openDatabase } from '../store/database.js';

function withKeys<T>(fn: (keys: ApiKeyStore) => T): T {
  const db = openDatabase(dataFiles(loadConfig().dataDir).database);
  try {
    return fn(new ApiKeyStore(db));
  } finally {
    db.close();
  }
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('API keys of the control plane (X-API-KEY)');
  keys
    .command('create')
    .description('make a key and print it (it is shown only this once)')
    .option('--name <name>', 'a name to recognise it by', 'cli')
    .action((opts: { name: string }) => {
      console.log(withKeys((k) => k.create(opts.name)).key);
    });
  keys
    .command('list')
    .description('list the keys (id, name, creation time; never the keys themselves)')
    .action(() => {
      for (const r of withKeys((k) => k.list())) console.log([r.id, r.name, new Date(r.createdAt).toISOString()].join('\t'));
    });
  keys
    .command('delete <id>')
    .description('delete a key; requests with it are refused from then on')
    .action((id: string) => {
      if (!withKeys((k) => k.delete(id))) throw new Error(`no API key with id '${id}' (see \`sandcastle keys list\`)`);
    });
}
