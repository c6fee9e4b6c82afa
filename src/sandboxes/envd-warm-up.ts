// A pooled sandbox's envd takes an empty /init and runs one command before a create takes it. A
// fresh envd is a Node process whose request paths (HTTP, /init writing the environment files, the
// Connect router, protobuf, spawning as a user through a login shell) have never run: V8 compiles
// them on first use. The create's /init took 10–23 ms and its first command about 50 ms where the
// next took 15 (SDK, this 2-core machine). Run here, those first times are paid while the sandbox
// waits in the pool instead of on the create's clock. The command goes in Connect's JSON encoding,
// as the SDKs send theirs: warmed with the binary one, envd still spent ~40 ms of CPU on a
// create's first command (its JSON codec paths compiled then), against ~5 ms after.
import { initEnvd } from './envd-client.js';
import { runInSandbox } from './envd-commands.js';

/** What the warm-up runs: the request the SDKs send for a command, one that does nothing and says
 *  what it is in the sandbox's log. */
const warmUpCommand = ': warm-up of envd by the server, before a create takes this sandbox';
const warmUpTimeoutMs = 15_000;

/** Sends envd at `address` (not yet initialised: no token) an /init that changes nothing, then
 *  runs one command as `user` (envd's default when unset: the one a create's first command runs
 *  as) and checks it ran. */
export async function warmUpEnvd(address: string, user?: string): Promise<void> {
  await initEnvd(address, {});
  const end = await runInSandbox(address, warmUpCommand, { user, json: true, timeoutMs: warmUpTimeoutMs }).catch((err: Error) => {
    throw new Error(`warming up envd at ${address} failed: ${err.message}`, { cause: err });
  });
  if (end.exitCode !== 0) throw new Error(`warming up envd at ${address}: \`${warmUpCommand}\` exited with ${end.exitCode}${end.error ? ` (${end.error})` : ''}`);
}
