// Every setting of Sandcastle, its default and the environment variable that changes it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the Sandcastle installation (the nearest folder above this file holding package.json),
 *  found by walking up so it is right both from `src/` (tsx) and from `dist/src/` (compiled). */
export const installDir = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the Sandcastle installation (no package.json above config.ts)');
    dir = parent;
  }
  return dir;
})();

function str(name: string, fallback: string): string {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
}

function int(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
  return n;
}

export interface Config {
  /** Where the database, templates and per-sandbox layers live. */
  dataDir: string;
  /** Built template root filesystems; separate from dataDir so test servers share one copy. */
  templatesDir: string;
  /** Address and port of the API (envd traffic shares it, routed by SDK headers). */
  host: string;
  port: number;
  /** Domain the SDK builds `{port}-{id}.{domain}` host names from. */
  domain: string;
  /** Sandbox timeout when the create call gives none, and the allowed maximum, in seconds. */
  defaultTimeoutSeconds: number;
  maxTimeoutSeconds: number;
  /** Resources of a sandbox whose template names none. */
  defaultCpuCount: number;
  defaultMemoryMB: number;
  defaultDiskSizeMB: number;
  pidsLimit: number;
  /** Private IPv4 /16 from which every sandbox gets a /30 for its veth pair. */
  networkCidr: string;
  /** runc binary and its state directory (kept apart from other users of runc). */
  runcPath: string;
  runcRoot: string;
  /** Node binary bind-mounted into every sandbox to run envd. */
  nodePath: string;
  /** Folder with the bundled in-sandbox programs (envd.mjs). */
  sandboxBundleDir: string;
  /** Debian mirror that debootstrap builds template root filesystems from. */
  debianMirror: string;
  /** Version reported to the SDK as `envdVersion`; gates SDK features (protocol §4.8). */
  envdVersion: string;
}

export function loadConfig(overrides: Partial<Config> = {}): Config {
  const dataDir = overrides.dataDir ?? str('SANDCASTLE_DATA_DIR', '/var/lib/sandcastle');
  return {
    dataDir,
    templatesDir: str('SANDCASTLE_TEMPLATES_DIR', path.join(dataDir, 'templates')),
    host: str('SANDCASTLE_HOST', '127.0.0.1'),
    port: int('SANDCASTLE_PORT', 3000),
    domain: str('SANDCASTLE_DOMAIN', 'sandcastle.localhost'),
    defaultTimeoutSeconds: int('SANDCASTLE_DEFAULT_TIMEOUT', 300),
    maxTimeoutSeconds: int('SANDCASTLE_MAX_TIMEOUT', 3600),
    defaultCpuCount: int('SANDCASTLE_CPU_COUNT', 2),
    defaultMemoryMB: int('SANDCASTLE_MEMORY_MB', 512),
    defaultDiskSizeMB: int('SANDCASTLE_DISK_MB', 10240),
    pidsLimit: int('SANDCASTLE_PIDS_LIMIT', 4096),
    networkCidr: str('SANDCASTLE_NETWORK_CIDR', '10.77.0.0/16'),
    runcPath: str('SANDCASTLE_RUNC', 'runc'),
    runcRoot: str('SANDCASTLE_RUNC_ROOT', '/run/sandcastle/runc'),
    nodePath: str('SANDCASTLE_NODE', process.execPath),
    sandboxBundleDir: str('SANDCASTLE_SANDBOX_BUNDLE', path.join(installDir, 'dist', 'sandbox')),
    debianMirror: str('SANDCASTLE_DEBIAN_MIRROR', 'http://deb.debian.org/debian'),
    envdVersion: '0.5.7',
    ...overrides,
  };
}
