// `sandcastle keys …`: the API keys of the server on this machine, made and removed in its
// database directly (no server needs to run). The database is the one `serve` uses with the same
// --data-dir or SANDCASTLE_DATA_DIR.
import type { Command } from 'commander';
import { dataFiles } from '../config.js';
import { ApiKeyStore } from '../store/api-key-store.js';
import { openDatabase } from '../store/database.js';
import { type Format, addOutputOption, printStructured } from './output.js';
import { type DataDirOption, addDataDirOption, resolveDataDir } from './server-connection.js';

function withKeys<T>(opts: DataDirOption, fn: (keys: ApiKeyStore) => T): T {
  const db = openDatabase(dataFiles(resolveDataDir(opts)).database);
  try {
    return fn(new ApiKeyStore(db));
  } finally {
    db.close();
  }
}

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('API keys of the control plane (X-API-KEY)');
  addOutputOption(
    addDataDirOption(
      keys
        .command('create')
        .description('make a key and print it (it is shown only this once)')
        .option('--name <name>', 'a name to recognise it by', 'cli'),
    ),
  ).action((opts: DataDirOption & { name: string; output: Format }) => {
    const made = withKeys(opts, (k) => k.create(opts.name));
    if (!printStructured(opts.output, { id: made.record.id, name: made.record.name, key: made.key })) console.log(made.key);
  });
  addOutputOption(addDataDirOption(keys.command('list').description('list the keys (id, name, creation time; never the keys themselves)'))).action(
    (opts: DataDirOption & { output: Format }) => {
      const rows = withKeys(opts, (k) => k.list()).map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.createdAt).toISOString() }));
      // Tab-separated lines (scripts cut them); -o json|yaml for records.
      if (!printStructured(opts.output, rows)) for (const r of rows) console.log([r.id, r.name, r.createdAt].join('\t'));
    },
  );
  addDataDirOption(keys.command('delete <id>').description('delete a key; requests with it are refused from then on')).action((id: string, opts: DataDirOption) => {
    if (!withKeys(opts, (k) => k.delete(id))) throw new Error(`no API key with id '${id}' (see \`sandcastle keys list\`)`);
    console.log(`deleted API key ${id}`);
  });
}
