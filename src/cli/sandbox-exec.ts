// `sandbox exec <id> -- cmd args…`: runs a command in a sandbox through envd, its output streamed
// to this process's stdout and stderr as it comes, and exits with the command's exit code.
import type { Command } from 'commander';
import { keyValues } from './option-values.js';
import { connectSandbox } from './sandbox-api.js';
import { type DataDirOption, addDataDirOption, serverConnection } from './server-connection.js';

interface ExecFlags extends DataDirOption {
  background?: boolean;
  cwd?: string;
  user?: string;
  env?: Record<string, string>;
}

const shellSafe = /^[A-Za-z0-9_@%+=:,./-]+$/;
const quote = (arg: string) => (arg === '' ? "''" : shellSafe.test(arg) ? arg : `'${arg.replace(/'/g, `'"'"'`)}'`);

/** One argument is a shell line as typed; several are quoted one by one, as a shell would pass them. */
export function commandLine(args: string[]): string {
  const words = args[0] === '--' ? args.slice(1) : args;
  if (!words.length) throw new Error('no command to run: sandcastle sandbox exec <sandboxID> -- <command> [args...]');
  return words.length === 1 ? words[0]! : words.map(quote).join(' ');
}

async function exec(id: string, args: string[], o: ExecFlags): Promise<void> {
  const cmd = commandLine(args);
  const sandbox = await connectSandbox(serverConnection(o), id);
  const { CommandExitError } = await import('e2b');
  const common = { cwd: o.cwd, user: o.user, envs: o.env, timeoutMs: 0 };
  if (o.background) {
    const handle = await sandbox.commands.run(cmd, { ...common, background: true });
    console.log(handle.pid);
    await handle.disconnect();
    return;
  }
  const handle = await sandbox.commands.run(cmd, {
    ...common,
    background: true,
    onStdout: (data) => {
      process.stdout.write(data);
    },
    onStderr: (data) => {
      process.stderr.write(data);
    },
  });
  // Ctrl-C here stops the command there.
  const stop = () => {
    handle.kill().catch(() => undefined);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    process.exitCode = (await handle.wait()).exitCode;
  } catch (err) {
    if (err instanceof CommandExitError) process.exitCode = err.exitCode;
    else throw err;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function registerSandboxExec(sandbox: Command): void {
  addDataDirOption(
    sandbox
      .command('exec <sandboxID> <command...>')
      .alias('ex')
      .description('run a command in a sandbox, stream its output and exit with its exit code')
      .addHelpText('after', '\nOptions go before the sandbox ID; everything after it is the command:\n  sandcastle sandbox exec -u root <sandboxID> -- ls -la /root')
      .passThroughOptions()
      .option('-b, --background', 'start it, print its PID and return')
      .option('-c, --cwd <dir>', 'working directory')
      .option('-u, --user <user>', 'user to run it as')
      .option('-e, --env <KEY=VALUE>', 'environment variable (repeatable)', keyValues(false)),
  ).action(exec);
}
