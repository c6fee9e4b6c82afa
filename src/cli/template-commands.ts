// `sandcastle template …`: build templates from Dockerfiles, list and delete them. The Dockerfile is
// read by the e2b SDK's own parser (`Template().fromDockerfile`) and built with its
// `Template.build`, so a Dockerfile means here exactly what it means to the SDKs and the e2b CLI.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { type Format, addOutputOption, printList, shortTime } from './output.js';
import { type DataDirOption, ApiError, addDataDirOption, apiCall, requireApiKey, serverConnection } from './server-connection.js';

/** Looked for in the context folder, in this order, when no `-d` is given. */
const dockerfileNames = ['novita.Dockerfile', 'e2b.Dockerfile', 'Dockerfile'];
/** How long a start command without a ready command is given, as the SDK gives a Dockerfile CMD. */
const defaultStartWaitMs = 20_000;

interface CreateOptions extends DataDirOption {
  dockerfile?: string;
  path: string;
  cmd?: string;
  readyCmd?: string;
  cpuCount?: number;
  memoryMb?: number;
  cache: boolean;
  tag?: string[];
}

interface TemplateRow {
  templateID: string;
  names?: string[];
  aliases?: string[];
  cpuCount: number;
  memoryMB: number;
  buildStatus?: string;
  createdAt: string | null;
}

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number of at least 1, got "${value}"`);
    return n;
  };
}

function findDockerfile(context: string, given: string | undefined): string {
  if (given !== undefined) {
    const file = path.resolve(context, given);
    if (!existsSync(file) || !statSync(file).isFile()) throw new Error(`no Dockerfile at ${file} (-d is read relative to the context folder ${context})`);
    return file;
  }
  for (const name of dockerfileNames) {
    const file = path.join(context, name);
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  throw new Error(`no ${dockerfileNames.join(', ')} in ${context}: give one with -d <file> or the context folder with -p <dir>`);
}

async function createTemplate(name: string, opts: CreateOptions): Promise<void> {
  const conn = serverConnection(opts);
  const apiKey = requireApiKey(conn);
  const context = path.resolve(opts.path);
  if (!existsSync(context) || !statSync(context).isDirectory()) throw new Error(`the context folder ${context} does not exist (-p <dir>)`);
  const dockerfile = findDockerfile(context, opts.dockerfile);
  // Loaded only here: the SDK is large and no other command needs it.
  const { Template, defaultBuildLogger, waitForTimeout } = await import('e2b');

  const fromFile = Template({ fileContextPath: context }).fromDockerfile(readFileSync(dockerfile, 'utf8'));
  // The flags replace the Dockerfile's CMD and its ready check, as in the e2b CLI.
  const template = opts.cmd
    ? fromFile.setStartCmd(opts.cmd, opts.readyCmd ?? waitForTimeout(defaultStartWaitMs))
    : opts.readyCmd
      ? fromFile.setReadyCmd(opts.readyCmd)
      : fromFile;

  console.log(`Building template ${name} from ${path.relative(context, dockerfile)} in ${context} on ${conn.url}`);
  const info = await Template.build(template, name, {
    apiUrl: conn.url,
    apiKey,
    tags: opts.tag,
    cpuCount: opts.cpuCount,
    memoryMB: opts.memoryMb,
    skipCache: !opts.cache,
    onBuildLogs: defaultBuildLogger(),
  }).catch((err: Error) => {
    throw new Error(`building template ${name} failed: ${err.message}`);
  });
  // The logger's progress line ends in \r; clear it before the summary.
  if (process.stdout.isTTY) process.stdout.write('\x1b[2K');
  const tags = info.tags.length ? ` (tags: ${info.tags.join(', ')})` : '';
  console.log(`Template ${info.name} is ready: id ${info.templateId}, build ${info.buildId}${tags}`);
  console.log(`Start a sandbox from it with Sandbox.create('${info.name}')`);
}

async function listTemplates(opts: DataDirOption & { output: Format }): Promise<void> {
  const items = (await apiCall(serverConnection(opts), 'GET', '/templates')) as TemplateRow[];
  printList(
    opts.output,
    items,
    [
      { header: 'Name', value: (t) => t.names?.[0] ?? t.aliases?.[0] ?? '-' },
      { header: 'ID', value: (t) => t.templateID },
      { header: 'CPU', value: (t) => String(t.cpuCount) },
      { header: 'Memory MB', value: (t) => String(t.memoryMB) },
      { header: 'Status', value: (t) => t.buildStatus ?? '-' },
      { header: 'Created', value: (t) => shortTime(t.createdAt) },
    ],
    'No templates found',
  );
}

async function deleteTemplate(ref: string, opts: DataDirOption): Promise<void> {
  const conn = serverConnection(opts);
  const found = (await apiCall(conn, 'GET', `/templates/${encodeURIComponent(ref)}`).catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 404) throw new Error(`no template named or with id '${ref}' on ${conn.url} (see \`sandcastle template list\`)`);
    throw err;
  })) as TemplateRow;
  const label = `${found.names?.[0] ?? ref} (${found.templateID})`;
  // A built-in template is refused by the server (409) with a message saying so.
  await apiCall(conn, 'DELETE', `/templates/${encodeURIComponent(found.templateID)}`);
  console.log(`deleted template ${label}`);
}

export function registerTemplateCommands(program: Command): void {
  const template = program.command('template').description('build templates from Dockerfiles, list and delete them');
  const create = template
    .command('create <name>')
    .description('build a template from a Dockerfile (read as the SDKs read it); rebuilding a name makes a new build of it')
    .option('-d, --dockerfile <file>', `the Dockerfile, relative to the context folder (default: the first of ${dockerfileNames.join(', ')})`)
    .option('-p, --path <dir>', 'the context folder that COPY reads from', '.')
    .option('-c, --cmd <command>', `start command, running in every sandbox of the template from its start (without --ready-cmd the build waits ${defaultStartWaitMs / 1000} s for it)`)
    .option('--ready-cmd <command>', 'command that exits 0 once the start command is ready, e.g. "curl -sf localhost:8000"')
    .option('--cpu-count <n>', 'CPUs of its sandboxes (default: as its last build, else the server\'s default)', positiveInt('--cpu-count'))
    .option('--memory-mb <n>', 'memory of its sandboxes in MiB (default: as its last build, else the server\'s default)', positiveInt('--memory-mb'))
    .option('--no-cache', 'run every step again instead of reusing cached layers')
    .option('--tag <tag...>', 'tags for this build, besides "default" (then `Sandbox.create("name:tag")`)');
  addDataDirOption(create).action(createTemplate);
  addOutputOption(addDataDirOption(template.command('list').alias('ls').description('list templates: built-in and built ones'))).action(listTemplates);
  addDataDirOption(template.command('delete <name-or-id>').alias('rm').description('delete a template; running sandboxes made from it keep running')).action(deleteTemplate);
}
