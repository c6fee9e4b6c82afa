// `sandcastle snapshot create|list|delete`: a sandbox's memory and files saved under an ID (and a
// name) that `sandbox create <snapshot>` starts new sandboxes from.
import type { Command } from 'commander';
import { nonNegativeInt } from './option-values.js';
import { type Format, addOutputOption, printList, printStructured } from './output.js';
import { sandboxPath } from './sandbox-api.js';
import { type DataDirOption, type ServerConnection, ApiError, addDataDirOption, apiCall, requireApiKey, serverConnection } from './server-connection.js';

interface SnapshotRow {
  snapshotID: string;
  names: string[];
}

/** Every snapshot (of one sandbox when `sandboxId` is given), page after page. */
async function listSnapshots(conn: ServerConnection, sandboxId: string | undefined, limit: number | undefined): Promise<SnapshotRow[]> {
  const rows: SnapshotRow[] = [];
  let nextToken: string | undefined;
  do {
    const q = new URLSearchParams({ limit: '1000', ...(sandboxId ? { sandboxID: sandboxId } : {}), ...(nextToken ? { nextToken } : {}) });
    // The next-page token is a header; apiCall gives bodies only, so this one call is fetched here.
    const res = await fetch(`${conn.url}/snapshots?${q}`, { headers: { 'X-API-KEY': requireApiKey(conn) } });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { message?: string };
      throw new ApiError(res.status, `GET ${conn.url}/snapshots: ${res.status} ${body.message ?? res.statusText}`);
    }
    rows.push(...((await res.json()) as SnapshotRow[]));
    nextToken = res.headers.get('x-next-token') || undefined;
  } while (nextToken && (limit === undefined || rows.length < limit));
  return limit === undefined ? rows : rows.slice(0, limit);
}

export function registerSnapshotCommands(program: Command): void {
  const snapshot = program.command('snapshot').alias('snap').description("save a sandbox's state and start new sandboxes from it");

  addOutputOption(
    addDataDirOption(
      snapshot
        .command('create <sandboxID>')
        .alias('cr')
        .description('snapshot a sandbox (it is paused for the moment it takes, then runs on)')
        .option('-n, --name <name>', 'a name to create sandboxes from, besides the ID'),
    ),
  ).action(async (id: string, o: DataDirOption & { output: Format; name?: string }) => {
    const made = (await apiCall(serverConnection(o), 'POST', `${sandboxPath(id)}/snapshots`, o.name ? { name: o.name } : {})) as SnapshotRow;
    if (printStructured(o.output, made)) return;
    console.log(`Created snapshot ${made.snapshotID} from sandbox ${id}`);
    console.log(`Start a sandbox from it with: sandcastle sandbox create ${made.snapshotID}`);
  });

  addOutputOption(
    addDataDirOption(
      snapshot
        .command('list')
        .alias('ls')
        .description('list snapshots')
        .option('--sandbox-id <sandboxID>', 'only those taken of this sandbox')
        .option('-l, --limit <n>', 'at most this many (0: no limit)', nonNegativeInt, 0),
    ),
  ).action(async (o: DataDirOption & { output: Format; sandboxId?: string; limit: number }) => {
    const rows = await listSnapshots(serverConnection(o), o.sandboxId, o.limit || undefined);
    printList(o.output, rows, [{ header: 'Snapshot ID', value: (s) => s.snapshotID }, { header: 'Names', value: (s) => s.names.join(', ') }], 'No snapshots found');
  });

  addOutputOption(addDataDirOption(snapshot.command('delete <snapshotIDs...>').alias('rm').description('delete snapshots; sandboxes started from them keep running'))).action(
    async (ids: string[], o: DataDirOption & { output: Format }) => {
      const conn = serverConnection(o);
      // The delete route also deletes templates: only IDs and names of snapshots are passed to it.
      const known = await listSnapshots(conn, undefined, undefined);
      const deleted: string[] = [];
      const problems: string[] = [];
      for (const id of ids) {
        const found = known.find((s) => s.snapshotID === id || s.names.includes(id) || s.names.includes(`${id}:default`));
        if (!found) {
          problems.push(`no snapshot '${id}' on ${conn.url} (see \`sandcastle snapshot list\`)`);
          continue;
        }
        try {
          await apiCall(conn, 'DELETE', `/templates/${encodeURIComponent(found.snapshotID)}`);
          deleted.push(found.snapshotID);
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
      if (!printStructured(o.output, { deleted })) for (const id of deleted) console.log(`Snapshot ${id} has been deleted`);
      if (problems.length) throw new Error(problems.join('\n'));
    },
  );
}
