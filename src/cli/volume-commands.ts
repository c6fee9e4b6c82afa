// `sandcastle volume create|list|info|delete`: storage that outlives sandboxes, mounted into them
// with `sandbox create --volume-mount /path=<name>`.
import type { Command } from 'commander';
import { type Format, addOutputOption, printList, printRecord, printStructured } from './output.js';
import { type DataDirOption, type ServerConnection, ApiError, addDataDirOption, apiCall, serverConnection } from './server-connection.js';

interface VolumeRow {
  volumeID: string;
  name: string;
  token?: string;
}

const volumePath = (id: string) => `/volumes/${encodeURIComponent(id)}`;

/** A volume by ID, else by its name (names are unique on a server). */
async function findVolume(conn: ServerConnection, ref: string): Promise<VolumeRow> {
  try {
    return (await apiCall(conn, 'GET', volumePath(ref))) as VolumeRow;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    const byName = ((await apiCall(conn, 'GET', '/volumes')) as VolumeRow[]).find((v) => v.name === ref);
    if (!byName) throw err;
    return (await apiCall(conn, 'GET', volumePath(byName.volumeID))) as VolumeRow;
  }
}

export function registerVolumeCommands(program: Command): void {
  const volume = program.command('volume').alias('vol').description('storage that outlives sandboxes');

  addOutputOption(
    addDataDirOption(
      volume
        .command('create [name]')
        .alias('cr')
        .description('make an empty volume')
        .option('-n, --name <name>', 'its name (or give it as the argument)'),
    ),
  ).action(async (arg: string | undefined, o: DataDirOption & { output: Format; name?: string }) => {
    const name = arg ?? o.name;
    if (!name) throw new Error('give the volume a name: sandcastle volume create <name>');
    const made = (await apiCall(serverConnection(o), 'POST', '/volumes', { name })) as VolumeRow;
    if (printStructured(o.output, made)) return;
    console.log(`Created volume ${made.name} (${made.volumeID})`);
    console.log(`Mount it with: sandcastle sandbox create --volume-mount /mnt/${made.name}=${made.name}`);
  });

  addOutputOption(addDataDirOption(volume.command('list').alias('ls').description('list volumes'))).action(async (o: DataDirOption & { output: Format }) => {
    const rows = (await apiCall(serverConnection(o), 'GET', '/volumes')) as VolumeRow[];
    printList(o.output, rows, [{ header: 'Volume ID', value: (v) => v.volumeID }, { header: 'Name', value: (v) => v.name }], 'No volumes found');
  });

  addOutputOption(addDataDirOption(volume.command('info <volume>').alias('get').description("show a volume by ID or name, with its token for the volume content API"))).action(
    async (ref: string, o: DataDirOption & { output: Format }) => {
      printRecord(o.output, await findVolume(serverConnection(o), ref), { volumeID: 'Volume ID', name: 'Name', token: 'Token' });
    },
  );

  addOutputOption(addDataDirOption(volume.command('delete <volumes...>').alias('rm').description('delete volumes (by ID or name) and everything in them'))).action(
    async (refs: string[], o: DataDirOption & { output: Format }) => {
      const conn = serverConnection(o);
      const deleted: string[] = [];
      const problems: string[] = [];
      for (const ref of refs) {
        try {
          const v = await findVolume(conn, ref);
          await apiCall(conn, 'DELETE', volumePath(v.volumeID));
          deleted.push(v.volumeID);
          if (o.output === 'pretty') console.log(`Volume ${v.name} (${v.volumeID}) has been deleted`);
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
      printStructured(o.output, { deleted });
      if (problems.length) throw new Error(problems.join('\n'));
    },
  );
}
