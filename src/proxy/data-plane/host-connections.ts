// Ending the host's TCP connections to a sandbox from the kernel's side (`ss -K`, sock_diag's
// destroy, CONFIG_INET_DIAG_DESTROY): a proxy that holds idle kept-alive connections it cannot
// name one by one (HAProxy's server connections between requests) sees them aborted at once.
import { runCommand } from '../../runtime/run-command.js';

/** Aborts every host TCP socket connected to `address` (a reset goes to the sandbox's end). */
export async function abortConnectionsTo(address: string): Promise<void> {
  if (!/^[0-9.]+$/.test(address)) throw new Error(`'${address}' is not an IPv4 address`);
  await runCommand('ss', ['-K', '-t', 'dst', address]);
}
