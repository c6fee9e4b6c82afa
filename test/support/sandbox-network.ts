// A sandbox's network as the host sees it, read from its namespace (`sc-<id>`): for tests and the
// bench that reach a sandbox directly, beside the server's proxies.
import { execFileSync } from 'node:child_process';

function ipInNamespace(id: string, args: string[]): string {
  return execFileSync('ip', ['-n', `sc-${id}`, ...args], { encoding: 'utf8' });
}

/** The sandbox end of its veth pair. */
export function sandboxAddress(id: string): string {
  return /inet (\S+)\//.exec(ipInNamespace(id, ['-4', '-o', 'addr', 'show', 'eth0']))![1]!;
}

/** The host end of its veth pair, the sandbox's gateway. */
export function gatewayAddress(id: string): string {
  return /via (\S+)/.exec(ipInNamespace(id, ['route', 'show', 'default']))![1]!;
}
