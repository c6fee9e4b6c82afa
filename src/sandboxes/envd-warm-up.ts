// A pooled sandbox's envd runs one command before a create takes it. A fresh envd is a Node
// process whose request paths (HTTP, the Connect router, protobuf, spawning as a user through a
// login shell) have never run: V8 compiles them on first use, and the first command of a new
// sandbox took about 50 ms where the next took 15 (SDK, this 2-core machine). Run here, that first
// time is paid while the sandbox waits in the pool instead of on the create's clock.
import { runInSandbox } from './envd-commands.js';

/** What the warm-up runs: the request the SDKs send for a command, one that does nothing and says
 *  what it is in the sandbox's log. */
const warmUpCommand = ': warm-up of envd by the server, before a create takes this sandbox';
const warmUpTimeoutMs = 15_000;

/** Runs one command through envd at `address` (not yet initialised: no token) as `user` (envd's
 *  default when unset: the one a create's first command runs as) and checks it ran. */
export async function warmUpEnvd(address: string, user?: string): Promise<void> {
  const end = await runInSandbox(address, warmUpCommand, { user, signal: AbortSignal.timeout(warmUpTimeoutMs) }).catch((err: Error) => {
    throw new Error(`warming up envd at ${address} failed: ${err.message}`, { cause: err });
  });
  if (end.exitCode !== 0) throw new Error(`warming up envd at ${address}: \`${warmUpCommand}\` exited with ${end.exitCode}${end.error ? ` (${end.error})` : ''}`);
}
