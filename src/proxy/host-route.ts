// Which sandbox and port a host name addresses: `{port}-{sandboxId}.{domain}` (protocol §6). The
// hosted product's names may carry a client id after the sandbox id (`3000-<id>-<client>.<domain>`);
// that suffix is accepted and ignored.
import { errors, type SandcastleError } from '../errors.js';

export type HostRoute =
  | { kind: 'sandbox'; sandboxId: string; port: number }
  | { kind: 'error'; error: SandcastleError }
  /** The bare `{domain}`: the web console (`https://{domain}/dashboard`, the e2b CLI's link). */
  | { kind: 'console' }
  /** `api.{domain}`: the control plane, where the SDKs go by default when only the domain is set
   *  (`https://api.{domain}`, for the API and for volume content alike). */
  | { kind: 'api' }
  /** Not under the sandbox domain at all (the API's own name, for instance). */
  | { kind: 'other' };

export function routeForHost(hostHeader: string | undefined, domain: string): HostRoute {
  if (!hostHeader) return { kind: 'other' };
  // Strip a port, and the brackets an IPv6 literal comes in (never a sandbox name).
  const host = hostHeader.trim().toLowerCase().replace(/:\d*$/, '').replace(/\.$/, '');
  if (host === domain.toLowerCase()) return { kind: 'console' };
  if (host === `api.${domain.toLowerCase()}`) return { kind: 'api' };
  const suffix = `.${domain.toLowerCase()}`;
  if (!host.endsWith(suffix)) return { kind: 'other' };
  const label = host.slice(0, -suffix.length);
  const m = /^(\d{1,10})-([a-z0-9]+)(?:-[a-z0-9]+)?$/.exec(label);
  if (!m) return { kind: 'error', error: errors.badSandboxHost(host, domain) };
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return { kind: 'error', error: errors.badSandboxPort(m[1]!) };
  return { kind: 'sandbox', sandboxId: m[2]!, port };
}
