// `sandbox connect` and `sandbox create` without -d: a shell in the sandbox on a PTY made by envd
// (the SDK's `sandbox.pty`), with the local terminal in raw mode so every key goes through as
// typed, and the remote size following the local window (SIGWINCH, as Node reports `resize`).
import type { Sandbox } from 'e2b';

export interface TerminalOptions {
  user?: string;
  cwd?: string;
  envs?: Record<string, string>;
}

/** Runs the session to its end; resolves to the shell's exit code. */
export async function attachTerminal(sandbox: Sandbox, opts: TerminalOptions): Promise<number> {
  // Loaded here: the SDK is large and most commands do not need it.
  const { CommandExitError } = await import('e2b');
  const { stdin, stdout } = process;
  const size = () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
  const pty = await sandbox.pty.create({
    ...size(),
    onData: (data) => {
      stdout.write(data);
    },
    // The session lasts as long as the user keeps it.
    timeoutMs: 0,
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.envs && Object.keys(opts.envs).length ? { envs: opts.envs } : {}),
  });

  // Keys are sent one call after the other so they arrive in the order typed.
  let sending: Promise<void> = Promise.resolve();
  const onInput = (chunk: Buffer) => {
    sending = sending
      .then(() => sandbox.pty.sendInput(pty.pid, new Uint8Array(chunk)))
      .catch((err: unknown) => {
        process.stderr.write(`\r\nsandcastle: sending input failed: ${(err as Error).message}\r\n`);
      });
  };
  const onResize = () => {
    sandbox.pty.resize(pty.pid, size()).catch(() => undefined);
  };
  const raw = stdin.isTTY;
  if (raw) stdin.setRawMode(true);
  stdin.on('data', onInput);
  stdin.resume();
  stdout.on('resize', onResize);
  try {
    const result = await pty.wait();
    return result.exitCode;
  } catch (err) {
    // A shell that exits non-zero (or is killed) is the end of the session, not a failure.
    if (err instanceof CommandExitError) return err.exitCode;
    throw err;
  } finally {
    stdout.off('resize', onResize);
    stdin.off('data', onInput);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    await sending;
  }
}
