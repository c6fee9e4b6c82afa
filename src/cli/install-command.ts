// `sandcastle install`: runs the server as a systemd service, started at boot and restarted when
// it fails. The unit starts this very install (its node, its script, its data directory) and
// signals only the server's own process on a stop or restart (KillMode=process): sandboxes keep
// running (runc puts each in a cgroup of its own, /sandcastle/<id>, outside the service's) and the
// next start re-adopts them. Logs go to the journal. Without systemd running, the unit is written
// and the output says how to start the server.
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { installDir, loadConfig } from '../config.js';

export const systemUnitDir = '/etc/systemd/system';

export interface UnitSettings {
  /** The node binary and its options (a TypeScript loader when run from the sources). */
  node: string;
  nodeArgs: string[];
  script: string;
  workingDirectory: string;
  dataDir: string;
  host?: string;
  port?: number;
  /** Server settings (SANDCASTLE_*) the service runs with. */
  environment: Record<string, string>;
}

/** One ExecStart= word: quoted when it holds a space, a quote or a backslash; `%` and `$` are
 *  systemd's specifiers and variables, doubled to stay literal. */
export function unitWord(word: string): string {
  const literal = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\]/.test(literal) || literal === '' ? `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : literal;
}

/** The unit's command as a shell line, settings first (for starting it by hand). */
export function shellCommand(s: UnitSettings): string {
  const quote = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
  const env = Object.entries(s.environment).map(([k, v]) => `${k}=${quote(v)}`);
  const serve = ['serve', '--data-dir', s.dataDir, ...(s.host ? ['--host', s.host] : []), ...(s.port !== undefined ? ['--port', String(s.port)] : [])];
  return [...env, s.node, ...s.nodeArgs, s.script, ...serve].map((w, i) => (i < env.length ? w : quote(w))).join(' ');
}

/** An Environment= assignment, quoted as a whole (systemd expands `%` specifiers there too). */
function environmentLine(name: string, value: string): string {
  const assignment = `${name}=${value}`.replace(/%/g, '%%').replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return `Environment="${assignment}"`;
}

export function unitText(s: UnitSettings): string {
  const serve = ['serve', '--data-dir', s.dataDir, ...(s.host ? ['--host', s.host] : []), ...(s.port !== undefined ? ['--port', String(s.port)] : [])];
  const exec = [s.node, ...s.nodeArgs, s.script, ...serve].map(unitWord).join(' ');
  const env = Object.entries(s.environment).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => environmentLine(k, v));
  return [
    '# Written by `sandcastle install`; `sandcastle install --uninstall` removes it.',
    '[Unit]',
    'Description=Sandcastle sandbox server',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    `WorkingDirectory=${s.workingDirectory.replace(/%/g, '%%')}`,
    ...env,
    'Restart=on-failure',
    'RestartSec=2',
    '# Only the server is signalled on a stop or restart: sandboxes run on in cgroups of their own',
    '# (/sandcastle/<id>, outside this service\'s) and the next start re-adopts them.',
    'KillMode=process',
    '# JSON log lines on stdout and stderr, kept by the journal: journalctl -u <this unit>.',
    'StandardOutput=journal',
    'StandardError=journal',
    'SyslogIdentifier=sandcastle',
    '# Every relayed connection holds two descriptors.',
    'LimitNOFILE=1048576',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Settings that stay with the machine rather than the service: where the data is is a flag, and
 *  a log file would keep the logs out of the journal. */
const notCopied = new Set(['SANDCASTLE_DATA_DIR', 'SANDCASTLE_LOG_FILE']);

/** The unit settings of the install this process runs from, with the server settings of `env`. */
export function thisInstall(opts: { dataDir: string; host?: string; port?: number }, env: NodeJS.ProcessEnv = process.env): UnitSettings {
  const script = process.argv[1];
  if (!script) throw new Error('cannot tell which script runs this command (process.argv[1] is empty)');
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('SANDCASTLE_') && !notCopied.has(k) && v !== undefined && v !== '') environment[k] = v;
  return {
    node: process.execPath,
    nodeArgs: process.execArgv,
    script: realpathSync(script),
    workingDirectory: installDir,
    dataDir: path.resolve(opts.dataDir),
    host: opts.host,
    port: opts.port,
    environment,
  };
}

/** Whether systemd manages this machine (sd_booted(3): the folder exists only then). */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

export interface InstallOptions {
  unitDir: string;
  name: string;
  /** systemctl is run only when systemd runs and the unit goes where it looks for units. */
  systemctl: ((args: string[]) => Promise<unknown>) | undefined;
  say: (line: string) => void;
}

export async function installUnit(settings: UnitSettings, opts: InstallOptions): Promise<string> {
  const file = path.join(opts.unitDir, `${opts.name}.service`);
  await mkdir(opts.unitDir, { recursive: true });
  await writeFile(file, unitText(settings), { mode: 0o644 }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot write ${file}: ${err.message}${err.code === 'EACCES' ? ' (run it as root: sudo sandcastle install)' : ''}`);
  });
  opts.say(`wrote ${file}: ${settings.node} … serve --data-dir ${settings.dataDir}${Object.keys(settings.environment).length ? ` with ${Object.keys(settings.environment).sort().join(', ')}` : ''}`);
  if (opts.systemctl) {
    await opts.systemctl(['daemon-reload']);
    await opts.systemctl(['enable', `${opts.name}.service`]);
    // A restart, not a start: a unit already running picks up the new file (sandboxes stay up).
    await opts.systemctl(['restart', `${opts.name}.service`]);
    opts.say(`enabled and started ${opts.name}.service; logs: journalctl -u ${opts.name} -f`);
  } else {
    opts.say(
      systemdRunning()
        ? `systemd reads units from ${systemUnitDir}, not ${opts.unitDir}: link or copy the file there, then run systemctl daemon-reload && systemctl enable --now ${opts.name}`
        : `systemd is not running on this machine (no /run/systemd/system), so nothing was started. On a machine booted with systemd: systemctl daemon-reload && systemctl enable --now ${opts.name}. Here, start the server with: ${shellCommand(settings)}`,
    );
  }
  return file;
}

export async function uninstallUnit(opts: InstallOptions): Promise<void> {
  const file = path.join(opts.unitDir, `${opts.name}.service`);
  if (!existsSync(file)) throw new Error(`no unit ${file} to remove (was it installed with another --unit-dir or --name?)`);
  if (opts.systemctl) await opts.systemctl(['disable', '--now', `${opts.name}.service`]);
  await rm(file);
  if (opts.systemctl) await opts.systemctl(['daemon-reload']);
  opts.say(`removed ${file}${opts.systemctl ? ` and stopped ${opts.name}.service` : ''}; sandboxes still running stay up until \`sandcastle serve\` adopts them or they are killed`);
}

async function systemctl(args: string[]): Promise<void> {
  try {
    await promisify(execFile)('systemctl', args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`systemctl ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
  }
}

export function registerInstallCommand(program: Command): void {
  program
    .command('install')
    .description('run the server as a systemd service: started at boot, restarted on failure, sandboxes kept across restarts')
    .option('--data-dir <path>', 'the data directory the service serves (SANDCASTLE_DATA_DIR)')
    .option('--host <address>', 'address to listen on (SANDCASTLE_HOST)')
    .option('--port <number>', 'port to listen on (SANDCASTLE_PORT)', (v) => Number(v))
    .option('--unit-dir <path>', 'where the unit file goes', systemUnitDir)
    .option('--name <name>', 'the unit name', 'sandcastle')
    .option('--uninstall', 'stop and disable the service and remove its unit')
    .action(async (o: { dataDir?: string; host?: string; port?: number; unitDir: string; name: string; uninstall?: boolean }) => {
      const managed = systemdRunning() && path.resolve(o.unitDir) === systemUnitDir;
      const opts: InstallOptions = {
        unitDir: path.resolve(o.unitDir),
        name: o.name,
        systemctl: managed ? systemctl : undefined,
        say: (line) => console.log(line),
      };
      if (o.port !== undefined && !(Number.isInteger(o.port) && o.port >= 0 && o.port < 65536)) throw new Error(`--port must be a port number, got ${o.port}`);
      if (o.uninstall) return uninstallUnit(opts);
      const dataDir = o.dataDir ?? loadConfig().dataDir;
      await installUnit(thisInstall({ dataDir, host: o.host, port: o.port }), opts);
    });
}
