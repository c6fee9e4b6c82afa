// `sandbox metrics` and `sandbox logs`: what the server has, and with -f what comes after, until the
// sandbox is gone. Followed JSON is one object a line; followed YAML one list item per entry.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ApiError, type DataDirOption, type ServerConnection, addDataDirOption, apiCall, serverConnection } from './server-connection.js';
import { type Format, addOutputOption, printStructured } from './output.js';
import { sandboxPath } from './sandbox-api.js';

/** How often -f asks for more. The server samples every 2 s. */
const followIntervalMs = 1000;

interface MetricRow {
  timestamp: string;
  timestampUnix: number;
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  diskUsed: number;
  diskTotal: number;
}

interface LogRow {
  timestamp: string;
  level: string;
  message: string;
  fields: Record<string, string>;
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const stamp = (iso: string) => `[${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}]`;

/** Entries as they come: pretty lines, or JSON/YAML (all at once unless following). */
function emit<T>(format: Format, follow: boolean, rows: T[], pretty: (row: T) => string): void {
  if (format === 'pretty') for (const r of rows) console.log(pretty(r));
  else if (!follow) printStructured(format, rows);
  else if (format === 'json') for (const r of rows) console.log(JSON.stringify(r));
  else if (rows.length) process.stdout.write(stringify(rows));
}

/** False once the sandbox is no more (killed, or its timeout passed). */
async function stillThere(conn: ServerConnection, id: string): Promise<boolean> {
  try {
    await apiCall(conn, 'GET', sandboxPath(id));
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return false;
    throw err;
  }
}

/** Said on stderr, so followed JSON or YAML on stdout stays whole. */
const gone = (id: string) => console.error(`Stopped following: sandbox ${id} is gone`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StreamFlags extends DataDirOption {
  output: Format;
  follow?: boolean;
}

async function metrics(id: string, o: StreamFlags): Promise<void> {
  const conn = serverConnection(o);
  const path = `${sandboxPath(id)}/metrics`;
  let last = -1;
  for (;;) {
    const rows = ((await apiCall(conn, 'GET', last < 0 ? path : `${path}?start=${last + 1}`)) as MetricRow[]).filter((m) => m.timestampUnix > last);
    emit(o.output, !!o.follow, rows, (m) =>
      `${stamp(m.timestamp)} ` +
      [
        `CPU: ${m.cpuUsedPct.toFixed(1).padStart(5)}% / ${m.cpuCount} cores`,
        `Memory: ${mib(m.memUsed).padStart(5)} / ${mib(m.memTotal)} MiB`,
        `Disk: ${mib(m.diskUsed).padStart(5)} / ${mib(m.diskTotal)} MiB`,
      ].join(' | '),
    );
    for (const m of rows) last = Math.max(last, m.timestampUnix);
    if (!o.follow) return;
    await sleep(followIntervalMs);
    if (!(await stillThere(conn, id))) return gone(id);
  }
}

const levels = ['debug', 'info', 'warn', 'error'];

interface LogFlags extends StreamFlags {
  level: string;
  loggers?: string;
}

async function logs(id: string, o: LogFlags): Promise<void> {
  const level = o.level.toLowerCase();
  if (!levels.includes(level)) throw new Error(`--level is one of ${levels.join(', ')}, got "${o.level}"`);
  const loggers = o.loggers?.split(',').map((l) => l.trim()).filter(Boolean);
  const conn = serverConnection(o);
  let cursor: number | undefined;
  for (;;) {
    const q = new URLSearchParams({ level, ...(cursor !== undefined ? { cursor: String(cursor) } : {}) });
    const { logs: rows } = (await apiCall(conn, 'GET', `/v2${sandboxPath(id)}/logs?${q}`)) as { logs: LogRow[] };
    const wanted = rows.filter((r) => !loggers || loggers.some((l) => (r.fields.logger ?? '').startsWith(l)));
    emit(o.output, !!o.follow, wanted, (r) => {
      const { logger, ...rest } = r.fields;
      const extra = Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(' ');
      return `${stamp(r.timestamp)} ${r.level.toUpperCase().padEnd(5)} ${logger ?? '-'}: ${r.message}${extra ? `  ${extra}` : ''}`;
    });
    const newest = rows.at(-1);
    if (newest) cursor = Date.parse(newest.timestamp) + 1;
    if (!o.follow) return;
    await sleep(followIntervalMs);
    if (!(await stillThere(conn, id))) return gone(id);
  }
}

export function registerSandboxStreams(sandbox: Command): void {
  addOutputOption(
    addDataDirOption(
      sandbox
        .command('metrics <sandboxID>')
        .alias('mt')
        .description('CPU, memory and disk of a sandbox, sampled every 2 s')
        .option('-f, --follow', 'keep printing new samples until the sandbox is gone'),
    ),
  ).action(metrics);
  addOutputOption(
    addDataDirOption(
      sandbox
        .command('logs <sandboxID>')
        .alias('lg')
        .description("a sandbox's log: its lifecycle (create, pause, resume, clone…) and envd's own lines")
        .option('--level <level>', `the least level shown: ${levels.join(', ')}`, 'info')
        .option('--loggers <names>', 'only these loggers (comma-separated prefixes), e.g. lifecycle,envd')
        .option('-f, --follow', 'keep printing new lines until the sandbox is gone'),
    ),
  ).action(logs);
}
