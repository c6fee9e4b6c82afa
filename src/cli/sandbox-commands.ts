// `sandcastle sandbox …`, shaped like the novita and e2b CLIs: create, list, info, connect, exec,
// pause, resume, kill, metrics, logs, clone and network.
import { type Command, Option } from 'commander';
import { commaList, keyValues, nonNegativeInt, parseDuration, parseStates, positiveInt, type SandboxStateName } from './option-values.js';
import { type Column, type Format, addOutputOption, printList, printRecord, printStructured, shortTime } from './output.js';
import { connectSandbox, getSandbox, listSandboxes, type SandboxRow, sandboxPath } from './sandbox-api.js';
import { registerSandboxExec } from './sandbox-exec.js';
import { registerSandboxStreams } from './sandbox-streams.js';
import { attachTerminal, type TerminalOptions } from './sandbox-terminal.js';
import { type DataDirOption, ApiError, addDataDirOption, apiCall, serverConnection } from './server-connection.js';

const sandboxColumns: Column<SandboxRow>[] = [
  { header: 'Sandbox ID', value: (s) => s.sandboxID },
  { header: 'Template ID', value: (s) => s.templateID },
  { header: 'Alias', value: (s) => s.alias ?? '-' },
  { header: 'Started at', value: (s) => shortTime(s.startedAt) },
  { header: 'End at', value: (s) => shortTime(s.endAt) },
  { header: 'State', value: (s) => s.state.charAt(0).toUpperCase() + s.state.slice(1) },
  { header: 'vCPUs', value: (s) => String(s.cpuCount) },
  { header: 'RAM MiB', value: (s) => String(s.memoryMB) },
  { header: 'Metadata', value: (s) => JSON.stringify(s.metadata ?? {}) },
];

const infoLabels: Record<string, string> = {
  sandboxID: 'Sandbox ID',
  templateID: 'Template ID',
  alias: 'Alias',
  state: 'State',
  startedAt: 'Started at',
  endAt: 'End at',
  cpuCount: 'vCPUs',
  memoryMB: 'RAM MiB',
  diskSizeMB: 'Disk MiB',
  envdVersion: 'Envd version',
  allowInternetAccess: 'Internet access',
  lifecycle: 'Lifecycle',
  network: 'Network',
  metadata: 'Metadata',
  volumeMounts: 'Volume mounts',
};

/** What info shows: the record without the envd token (a credential for the sandbox's envd). */
function publicInfo(row: SandboxRow & { envdAccessToken?: string; domain?: unknown }) {
  const { envdAccessToken: _token, domain: _domain, ...rest } = row;
  return rest;
}

/** `-e` is the shell's environment for connect; create's `-e` sets the sandbox's instead. */
/** The web console's page of the sandbox (live charts, files, logs), as the e2b CLI links it. */
const inspectLine = (url: string, id: string) => `Watch it live at ${url}/dashboard/inspect/sandbox/${id}`;

function addTerminalOptions(cmd: Command, withEnv = true): Command {
  cmd.option('-u, --user <user>', 'user to start the shell as').option('-c, --cwd <dir>', 'working directory of the shell');
  return withEnv ? cmd.option('-e, --env <KEY=VALUE>', 'environment variable of the shell (repeatable)', keyValues(false)) : cmd;
}

interface TerminalFlags {
  user?: string;
  cwd?: string;
  env?: Record<string, string>;
}
const terminalOptions = (o: TerminalFlags): TerminalOptions => ({ user: o.user, cwd: o.cwd, envs: o.env });

interface CreateFlags extends DataDirOption, TerminalFlags {
  output: Format;
  detach?: boolean;
  timeout?: number;
  metadata?: Record<string, string>;
  volumeMount?: Record<string, string>;
  internet: boolean;
  allowOut?: string[];
  denyOut?: string[];
  onTimeout?: 'kill' | 'pause';
  autoResume?: boolean;
}

async function createSandbox(template: string | undefined, o: CreateFlags): Promise<void> {
  if (o.autoResume && o.onTimeout !== 'pause') throw new Error('--auto-resume needs --on-timeout pause (a sandbox killed at its timeout cannot resume)');
  const conn = serverConnection(o);
  const network = o.allowOut || o.denyOut ? { allowOut: o.allowOut, denyOut: o.denyOut } : undefined;
  const created = (await apiCall(conn, 'POST', '/v2/sandboxes', {
    templateID: template ?? 'base',
    ...(o.timeout !== undefined ? { timeout: Math.ceil(o.timeout / 1000) } : {}),
    metadata: o.metadata ?? {},
    envVars: o.env ?? {},
    ...(o.internet ? {} : { allow_internet_access: false }),
    ...(network ? { network } : {}),
    ...(o.onTimeout === 'pause' ? { autoPause: true } : {}),
    ...(o.autoResume ? { autoResume: { enabled: true } } : {}),
    ...(o.volumeMount ? { volumeMounts: Object.entries(o.volumeMount).map(([path, name]) => ({ path, name })) } : {}),
  })) as { sandboxID: string };
  const id = created.sandboxID;
  if (o.detach) {
    if (!printStructured(o.output, publicInfo(await getSandbox(conn, id)))) console.log(id);
    return;
  }
  // Attached: the sandbox lives as long as the session (or a failed start of it) unless a timeout
  // was asked for.
  try {
    const sandbox = await connectSandbox(conn, id);
    console.error(`Terminal connected to sandbox ${id} (template ${template ?? 'base'}); exit the shell to close it`);
    console.error(inspectLine(conn.url, id));
    process.exitCode = await attachTerminal(sandbox, { user: o.user, cwd: o.cwd });
  } finally {
    if (o.timeout === undefined) {
      await apiCall(conn, 'DELETE', sandboxPath(id));
      console.error(`Sandbox ${id} killed (give --timeout to keep it after the session, or -d not to attach)`);
    } else console.error(`Closed the terminal; sandbox ${id} keeps running until its timeout`);
  }
}

interface ListFlags extends DataDirOption {
  output: Format;
  state: SandboxStateName[];
  metadata?: Record<string, string>;
  template?: string;
  limit: number;
}

async function killSandboxes(ids: string[], o: DataDirOption & { all?: boolean; state?: SandboxStateName[]; metadata?: Record<string, string>; output: Format }): Promise<void> {
  if (o.all && ids.length) throw new Error('give sandbox IDs or -a/--all, not both');
  if (!o.all && !ids.length) throw new Error('give the IDs of the sandboxes to kill, or -a/--all (with --state and --metadata filters)');
  const conn = serverConnection(o);
  const targets = o.all ? (await listSandboxes(conn, { states: o.state ?? ['running'], metadata: o.metadata })).rows.map((s) => s.sandboxID) : ids;
  const results = await Promise.allSettled(targets.map((id) => apiCall(conn, 'DELETE', sandboxPath(id))));
  const killed = targets.filter((_, i) => results[i]!.status === 'fulfilled');
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (!printStructured(o.output, { killed })) {
    for (const id of killed) console.log(`Sandbox ${id} has been killed`);
    if (o.all) console.log(killed.length ? `Killed ${killed.length} sandboxes` : 'No sandboxes to kill');
  }
  if (failed.length) throw new Error(failed.map((e) => e.message).join('\n'));
}

interface CloneFlags extends DataDirOption {
  output: Format;
  count: number;
  strict?: boolean;
  timeout?: number;
}

async function cloneSandbox(id: string, o: CloneFlags): Promise<void> {
  const conn = serverConnection(o);
  const body = { count: o.count, strict: !!o.strict, ...(o.timeout !== undefined ? { timeout: Math.ceil(o.timeout / 1000) } : {}) };
  const res = (await apiCall(conn, 'POST', `${sandboxPath(id)}/clone`, body)) as { sandboxes: Array<{ sandboxID: string }> };
  const clones = res.sandboxes.map((s) => s.sandboxID);
  if (printStructured(o.output, { sourceSandboxID: id, sandboxIDs: clones })) return;
  console.log(`Cloned sandbox ${id} into ${clones.length} of ${o.count} sandboxes:`);
  for (const c of clones) console.log(c);
}

export function registerSandboxCommands(program: Command): void {
  // Positional options: everything after `exec <id>` belongs to the remote command.
  const sandbox = program.command('sandbox').alias('sbx').description('create, inspect, use and stop sandboxes').enablePositionalOptions();

  const create = sandbox
    .command('create [template]')
    .alias('cr')
    .description('create a sandbox from a template or snapshot (default: base) and open a shell in it; -d prints its ID instead')
    .option('-d, --detach', 'create it and print its ID, without a terminal')
    .option('--timeout <duration>', 'lifetime, e.g. 300, 90s, 10m, 1h (default: the server\'s, 5 minutes)', parseDuration)
    .option('--metadata <KEY=VALUE>', 'metadata (repeatable)', keyValues(false))
    .option('-e, --env <KEY=VALUE>', 'environment variable of the sandbox, its shell included (repeatable)', keyValues(false))
    .option('--volume-mount <PATH=VOLUME>', 'mount the volume of that name at the absolute path (repeatable)', keyValues(false))
    .option('--no-internet', 'no outbound network at all')
    .option('--allow-out <destinations>', 'outbound allow list: IPs, CIDRs or host names, comma-separated (repeatable)', commaList)
    .option('--deny-out <destinations>', 'outbound deny list: IPs or CIDRs, comma-separated (repeatable)', commaList)
    .addOption(new Option('--on-timeout <action>', 'what the timeout does').choices(['kill', 'pause']))
    .option('--auto-resume', 'resume on the next request when paused by its timeout (needs --on-timeout pause)');
  addTerminalOptions(create, false);
  addOutputOption(addDataDirOption(create)).action(createSandbox);

  addOutputOption(
    addDataDirOption(
      sandbox
        .command('list')
        .alias('ls')
        .description('list sandboxes, newest first (running ones unless --state says otherwise)')
        .option('-s, --state <states>', 'running, paused or both, comma-separated', parseStates, ['running'] as SandboxStateName[])
        .option('-m, --metadata <KEY=VALUE,...>', 'only those with this metadata', keyValues(true))
        .option('-t, --template <template>', 'only those of this template (ID or name)')
        .option('-l, --limit <n>', 'at most this many (0: no limit)', nonNegativeInt, 1000),
    ),
  ).action(async (o: ListFlags) => {
    const { rows, more } = await listSandboxes(serverConnection(o), { states: o.state, metadata: o.metadata, template: o.template, limit: o.limit || undefined });
    printList(o.output, rows, sandboxColumns, 'No sandboxes found');
    if (more && o.output === 'pretty') console.log(`Showing the first ${o.limit}; --limit 0 shows all`);
  });

  addOutputOption(addDataDirOption(sandbox.command('info <sandboxID>').alias('in').description('show a sandbox: state, template, times, resources, network, metadata'))).action(
    async (id: string, o: DataDirOption & { output: Format }) => {
      printRecord(o.output, publicInfo(await getSandbox(serverConnection(o), id)), infoLabels);
    },
  );

  addTerminalOptions(
    addDataDirOption(
      sandbox
        .command('connect <sandboxID>')
        .alias('cn')
        .description('open a shell in a sandbox (a paused one is resumed)')
        .option('--timeout <duration>', 'lifetime from now, when longer than what it has left', parseDuration),
    ),
  ).action(async (id: string, o: DataDirOption & TerminalFlags & { timeout?: number }) => {
    const conn = serverConnection(o);
    const sbx = await connectSandbox(conn, id, o.timeout);
    console.error(`Terminal connected to sandbox ${id}; exit the shell to close it`);
    console.error(inspectLine(conn.url, id));
    process.exitCode = await attachTerminal(sbx, terminalOptions(o));
  });

  registerSandboxExec(sandbox);

  addOutputOption(addDataDirOption(sandbox.command('pause <sandboxID>').alias('ps').description('pause a sandbox, keeping its memory and files'))).action(
    async (id: string, o: DataDirOption & { output: Format }) => {
      let paused = true;
      try {
        await apiCall(serverConnection(o), 'POST', `${sandboxPath(id)}/pause`, {});
      } catch (err) {
        // 409 is the server's "already paused".
        if (!(err instanceof ApiError && err.status === 409)) throw err;
        paused = false;
      }
      if (!printStructured(o.output, { sandboxID: id, paused, alreadyPaused: !paused })) console.log(paused ? `Sandbox ${id} has been paused` : `Sandbox ${id} is already paused`);
    },
  );

  addOutputOption(
    addDataDirOption(
      sandbox
        .command('resume <sandboxID>')
        .alias('rs')
        .description('resume a paused sandbox (a running one is left running)')
        .option('--timeout <duration>', 'lifetime from now', parseDuration),
    ),
  ).action(async (id: string, o: DataDirOption & { output: Format; timeout?: number }) => {
    const conn = serverConnection(o);
    await apiCall(conn, 'POST', `${sandboxPath(id)}/connect`, o.timeout !== undefined ? { timeout: Math.ceil(o.timeout / 1000) } : {});
    if (!printStructured(o.output, publicInfo(await getSandbox(conn, id)))) console.log(`Sandbox ${id} has been resumed`);
  });

  addOutputOption(
    addDataDirOption(
      sandbox
        .command('kill [sandboxIDs...]')
        .alias('kl')
        .description('kill sandboxes by ID, or all that match with -a')
        .option('-a, --all', 'kill every sandbox that matches --state and --metadata')
        .option('-s, --state <states>', 'with -a: running, paused or both (default: running)', parseStates)
        .option('-m, --metadata <KEY=VALUE,...>', 'with -a: only those with this metadata', keyValues(true)),
    ),
  ).action(killSandboxes);

  registerSandboxStreams(sandbox);

  addOutputOption(
    addDataDirOption(
      sandbox
        .command('clone <sandboxID>')
        .description('copy a running or paused sandbox, memory and files, into new sandboxes')
        .option('-c, --count <count>', 'how many copies', positiveInt, 1)
        .option('-s, --strict', 'all copies or none: fail (and remove the ones made) when fewer than --count can start')
        .option('-t, --timeout <duration>', "the copies' lifetime (default: the source's time left when running, else 5 minutes)", parseDuration),
    ),
  ).action(cloneSandbox);

  addOutputOption(
    addDataDirOption(
      sandbox
        .command('network <sandboxID>')
        .description('replace the outbound rules of a running sandbox (neither list: no rules)')
        .option('--allow-out <destinations>', 'allowed IPs, CIDRs or host names, comma-separated (repeatable)', commaList)
        .option('--deny-out <destinations>', 'denied IPs or CIDRs, comma-separated (repeatable)', commaList),
    ),
  ).action(async (id: string, o: DataDirOption & { output: Format; allowOut?: string[]; denyOut?: string[] }) => {
    const conn = serverConnection(o);
    await apiCall(conn, 'PUT', `${sandboxPath(id)}/network`, { allowOut: o.allowOut ?? [], denyOut: o.denyOut ?? [] });
    const rules = { sandboxID: id, allowOut: o.allowOut ?? [], denyOut: o.denyOut ?? [] };
    if (printStructured(o.output, rules)) return;
    console.log(`Outbound rules of sandbox ${id} replaced`);
    console.log(`allow out: ${rules.allowOut.join(', ') || '-'}`);
    console.log(`deny out: ${rules.denyOut.join(', ') || '-'}`);
  });
}
