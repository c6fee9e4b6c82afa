// Every setting of Sandcastle, its default and the environment variable that changes it.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type IdMapping, mappingProblem } from './runtime/id-mapping.js';
import { parseIpv4Cidr } from './runtime/network/egress-rules.js';

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

/** One setting as the README's table shows it: the variable, its default as written there and
 *  what it changes. The README's table is generated from this list (`npm run docs:settings`) and
 *  the helpers below read only variables named here, so neither can drift from loadConfig. */
export interface Setting {
  variable: string;
  default: string;
  meaning: string;
}

export const settings = [
  { variable: 'SANDCASTLE_HOST', default: '`127.0.0.1`', meaning: 'address the API and sandbox traffic listen on (`serve --host`)' },
  { variable: 'SANDCASTLE_PORT', default: '`3000`', meaning: 'port of the API and sandbox traffic (`serve --port`)' },
  { variable: 'SANDCASTLE_DATA_DIR', default: '`/var/lib/sandcastle`', meaning: 'SQLite database, API key, sandbox layers, checkpoints, snapshots, volumes (`serve --data-dir`)' },
  { variable: 'SANDCASTLE_TEMPLATES_DIR', default: '`$SANDCASTLE_DATA_DIR/templates`', meaning: 'built template root filesystems' },
  { variable: 'SANDCASTLE_AUTH', default: '`keys`', meaning: '`keys`: control-plane requests need an API key this server made; `none`: no check (local-only use)' },
  { variable: 'SANDCASTLE_DOMAIN', default: '`sandcastle.localhost`', meaning: 'domain of the public URLs `{port}-{id}.{domain}` and of `api.{domain}`' },
  { variable: 'SANDCASTLE_HTTPS_PORT', default: '`443`', meaning: 'HTTPS listener of the public URLs; `0` turns it off' },
  { variable: 'SANDCASTLE_HTTP_PORT', default: '`80`', meaning: 'HTTP listener of the public URLs; `0` turns it off' },
  { variable: 'SANDCASTLE_PUBLIC_HOSTS', default: '`::1,127.0.0.1`', meaning: 'addresses the public URL listeners bind, comma-separated' },
  { variable: 'SANDCASTLE_TLS_CERT', default: '(local CA in `$SANDCASTLE_DATA_DIR/tls`)', meaning: 'PEM certificate chain for `*.{domain}`' },
  { variable: 'SANDCASTLE_TLS_KEY', default: '(local CA in `$SANDCASTLE_DATA_DIR/tls`)', meaning: 'PEM key of that certificate' },
  { variable: 'SANDCASTLE_DATA_PLANE', default: '`haproxy`', meaning: 'what relays sandbox traffic, public URLs and SDK calls on the API port: `haproxy` (started and configured by the server, in front of it; Node decides, HAProxy moves the bytes) or `node` (the server relays it itself, request by request: no HAProxy needed, a fraction of the throughput)' },
  { variable: 'SANDCASTLE_HAPROXY', default: '`haproxy`', meaning: 'the HAProxy binary of the `haproxy` data plane' },
  { variable: 'SANDCASTLE_DNS_SERVERS', default: "the host's non-loopback name servers", meaning: "name servers of every sandbox's /etc/resolv.conf (also resolve network rules' domains), comma-separated" },
  { variable: 'SANDCASTLE_METRICS_INTERVAL_MS', default: '`2000`', meaning: 'how often the metrics of every running sandbox are sampled, in milliseconds' },
  { variable: 'SANDCASTLE_DEFAULT_TIMEOUT', default: '`300`', meaning: 'sandbox timeout in seconds when the create call gives none' },
  { variable: 'SANDCASTLE_MAX_TIMEOUT', default: '`3600`', meaning: 'largest sandbox timeout accepted, in seconds' },
  { variable: 'SANDCASTLE_MAX_LIFETIME', default: '`3600`', meaning: 'seconds a sandbox with an idle timeout may live at most' },
  { variable: 'SANDCASTLE_MIN_IDLE_TIMEOUT', default: '`60`', meaning: 'smallest `idle_timeout` metadata value accepted, in seconds' },
  { variable: 'SANDCASTLE_PAUSED_RETENTION', default: '`2592000` (30 days)', meaning: 'seconds after its creation a paused sandbox is kept before it is deleted' },
  { variable: 'SANDCASTLE_MAX_CLONE_COUNT', default: '`20`', meaning: 'most clones one clone call may make' },
  { variable: 'SANDCASTLE_WARM_POOL', default: '`2`', meaning: 'sandboxes kept started per template for a fast create; `0` turns the pool off' },
  { variable: 'SANDCASTLE_BOOT_STATE_RETRY', default: '`60`', meaning: "seconds after a create could not restore a template's saved boot state (its sandbox booted instead) that the state is saved anew" },
  { variable: 'SANDCASTLE_START_CONCURRENCY', default: 'twice the cores', meaning: 'sandbox starts run at most this many at once; more wait their turn' },
  { variable: 'SANDCASTLE_MAX_SANDBOXES', default: '`1000`', meaning: 'most sandboxes (running or paused); past it a create or clone gets 429' },
  { variable: 'SANDCASTLE_MIN_FREE_MEMORY_MB', default: '`512`', meaning: 'memory kept available on the host; below it a create or clone gets 429' },
  { variable: 'SANDCASTLE_MIN_FREE_DISK_MB', default: '`1024`', meaning: "data directory's disk kept free; below it a create or clone gets 429" },
  { variable: 'SANDCASTLE_WARM_PAUSED_MAX', default: '`64`', meaning: 'most paused sandboxes kept frozen in memory (a resume thaws them), the oldest evicted to their checkpoint; `0` pauses every sandbox cold' },
  { variable: 'SANDCASTLE_WARM_PAUSED_MIN_FREE_MB', default: '`1024`', meaning: 'memory kept available: the oldest frozen paused sandboxes are evicted to their checkpoint from 512 MiB above it on' },
  { variable: 'SANDCASTLE_LAZY_RESTORE', default: '`0`', meaning: '`1`: a cold resume answers before the memory is read back, pages come in as the sandbox touches them (CRIU lazy pages); needs `SANDCASTLE_USERNS=0` or `vm.unprivileged_userfaultfd=1`' },
  { variable: 'SANDCASTLE_CPU_COUNT', default: '`2`', meaning: 'vCPUs of a sandbox whose template names none' },
  { variable: 'SANDCASTLE_MEMORY_MB', default: '`512`', meaning: 'memory of a sandbox whose template names none, in MiB' },
  { variable: 'SANDCASTLE_DISK_MB', default: '`20480`', meaning: 'disk size of a sandbox of the built-in templates and of builds, in MiB (see "Disks")' },
  { variable: 'SANDCASTLE_DISK_QUOTA', default: '`1`', meaning: '`0` keeps writable layers in the data directory without a limit: for the benchmark\'s comparison only' },
  { variable: 'SANDCASTLE_PIDS_LIMIT', default: '`4096`', meaning: 'most processes and threads in one sandbox' },
  { variable: 'SANDCASTLE_NETWORK_CIDR', default: '`10.77.0.0/16`', meaning: 'private IPv4 range cut into one /30 per sandbox; fixed while the data folder has sandboxes (a server started with another one refuses to start)' },
  { variable: 'SANDCASTLE_EGRESS_ALLOW_PRIVATE', default: '(none)', meaning: 'link-local and private IPv4 addresses or CIDRs sandboxes may reach nonetheless, comma-separated (see "Networking")' },
  { variable: 'SANDCASTLE_RUNC', default: '`runc`', meaning: 'the runc binary' },
  { variable: 'SANDCASTLE_RUNC_ROOT', default: '`/run/sandcastle/runc`', meaning: "runc's state directory, kept apart from other users of runc" },
  { variable: 'SANDCASTLE_USERNS', default: '`1`', meaning: 'every sandbox in its own user namespace (root inside is an unprivileged host uid); `0` turns it off' },
  { variable: 'SANDCASTLE_USERNS_BASE', default: '`100000`', meaning: 'first host id that ids 0… inside a sandbox map to; a range overlapping host accounts or `/etc/subuid`/`/etc/subgid` is refused at start' },
  { variable: 'SANDCASTLE_USERNS_SIZE', default: '`65536`', meaning: 'how many ids that range holds (at least 65536)' },
  { variable: 'SANDCASTLE_CRIU', default: '`/usr/local/lib/sandcastle/criu`', meaning: 'the CRIU that setup builds, for pause, resume, clone and snapshots' },
  { variable: 'SANDCASTLE_CRIU_TIMEOUT', default: '`600`', meaning: 'seconds one CRIU checkpoint or restore may take; past it CRIU is killed and the operation fails (a pause leaves the sandbox running, a resume leaves it paused)' },
  { variable: 'SANDCASTLE_NODE', default: 'the Node.js running the server', meaning: 'Node binary whose copy (with its loader and libraries) runs envd in every sandbox' },
  { variable: 'SANDCASTLE_SANDBOX_TOOLS', default: '`dist/sandbox-tools`', meaning: 'where that node copy and the static init mounted into sandboxes are prepared' },
  { variable: 'SANDCASTLE_SANDBOX_BUNDLE', default: '`dist/sandbox`', meaning: 'folder of the bundled in-sandbox programs (envd.mjs), made by `npm run build`' },
  { variable: 'SANDCASTLE_DEBIAN_MIRROR', default: '`http://deb.debian.org/debian`', meaning: 'Debian mirror that debootstrap builds the built-in templates from' },
  { variable: 'SANDCASTLE_REGISTRY_MIRRORS', default: '(none)', meaning: 'registries (`host[:port]`) tried first for Docker Hub images, comma-separated' },
  { variable: 'SANDCASTLE_INSECURE_REGISTRIES', default: '(none)', meaning: 'registries reached over plain HTTP or with an unverified certificate, comma-separated' },
  { variable: 'SANDCASTLE_TEMPLATE_READY_TIMEOUT', default: '`600`', meaning: "seconds a template's ready command may keep failing before its build fails" },
  { variable: 'SANDCASTLE_LAYER_CACHE_DAYS', default: '`7`', meaning: 'days an unused layer stays in the build cache' },
  { variable: 'SANDCASTLE_MAX_UPLOAD_MB', default: '`1024`', meaning: 'largest COPY upload (a gzip tar) of a template build, in MiB' },
  { variable: 'SANDCASTLE_LOG_LEVEL', default: '`info`', meaning: 'least severe log level written: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`' },
  { variable: 'SANDCASTLE_LOG_FILE', default: '(stdout)', meaning: 'file the logs are appended to as JSON lines' },
] as const satisfies readonly Setting[];

/** Variables read inside a sandbox by its code interpreter (src/interpreter/main.ts), set by the
 *  template, not by the server's environment. */
export const sandboxSettings: readonly Setting[] = [
  { variable: 'SANDCASTLE_INTERPRETER_PORT', default: '`49999`', meaning: 'port the code interpreter listens on' },
  { variable: 'SANDCASTLE_INTERPRETER_USER', default: '`user`', meaning: 'who kernels run as (when that user exists)' },
  { variable: 'SANDCASTLE_INTERPRETER_CWD', default: '`/home/user`', meaning: 'default working directory of contexts' },
  { variable: 'SANDCASTLE_INTERPRETER_RUN_DIR', default: '`/run/sandcastle-interpreter`', meaning: "kernels' connection files and sockets" },
  { variable: 'SANDCASTLE_INTERPRETER_PYTHON', default: '`python3`', meaning: 'the Python that runs kernels' },
  { variable: 'SANDCASTLE_ENVS_FILE', default: '`/run/sandcastle/envs.json`', meaning: 'sandbox-wide environment variables, written by envd' },
];

type SettingName = (typeof settings)[number]['variable'];

function str(name: SettingName, fallback: string): string {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : v;
}

function int(name: SettingName, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
  return n;
}

function oneOf<T extends string>(name: SettingName, values: readonly T[], fallback: T): T {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!values.includes(v as T)) throw new Error(`${name} must be one of ${values.join(', ')}, got "${v}"`);
  return v as T;
}

/** An optional value: unset or empty is undefined. */
function optional(name: SettingName): string | undefined {
  return process.env[name] || undefined;
}

/** A comma-separated list; a function fallback is worked out only when the variable is unset. */
function list(name: SettingName, fallback: string[] | (() => string[])): string[] {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return typeof fallback === 'function' ? fallback() : fallback;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** The host's name servers that a sandbox can reach: loopback ones (a local stub resolver such as
 *  systemd-resolved's 127.0.0.53) are not, so their upstream list is used instead. */
function hostNameServers(): string[] {
  for (const file of ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const servers = [...text.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!);
    const reachable = servers.filter((s) => !s.startsWith('127.'));
    if (reachable.length > 0) return reachable;
  }
  return [];
}

/** A comma-separated list of IPv4 addresses and CIDRs; an entry that is neither stops the start. */
function cidrList(name: SettingName): string[] {
  return list(name, []).map((entry) => {
    const parsed = parseIpv4Cidr(entry);
    if ('problem' in parsed) throw new Error(`${name} entry "${entry}" ${parsed.problem}; give IPv4 addresses or CIDRs separated by commas, e.g. 10.20.0.0/16,192.168.1.5`);
    return parsed.cidr;
  });
}

/** User namespaces (on unless SANDCASTLE_USERNS=0), with the range SANDCASTLE_USERNS_BASE
 *  (100000) and SANDCASTLE_USERNS_SIZE (65536). */
function usernsMapping(): IdMapping | undefined {
  const on = oneOf('SANDCASTLE_USERNS', ['0', '1'] as const, '1');
  if (on === '0') return undefined;
  const mapping = { base: int('SANDCASTLE_USERNS_BASE', 100_000), size: int('SANDCASTLE_USERNS_SIZE', 65_536) };
  const problem = mappingProblem(mapping);
  if (problem) throw new Error(problem);
  return mapping;
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
  /** Ports of the public HTTPS and HTTP listeners that serve `{port}-{id}.{domain}`; 0 turns
   *  a listener off. */
  httpsPort: number;
  httpPort: number;
  /** Addresses those listeners bind: both loopbacks, as `*.localhost` resolves to ::1 first. */
  publicHosts: string[];
  /** Certificate (chain) and key for `*.{domain}` in PEM files; when unset the server makes a
   *  local CA and a wildcard certificate under `<dataDir>/tls` on its first start. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Who relays the bytes of public-URL connections: HAProxy (a child of the server) or Node. */
  dataPlane: 'haproxy' | 'node';
  haproxyPath: string;
  /** Name servers written into every sandbox's /etc/resolv.conf, also used to resolve domain
   *  names in network rules. */
  dnsServers: string[];
  /** How often the metrics of every running sandbox are sampled. */
  metricsIntervalMs: number;
  /** Sandbox timeout when the create call gives none, and the allowed maximum, in seconds. */
  defaultTimeoutSeconds: number;
  maxTimeoutSeconds: number;
  /** How long a sandbox with an idle timeout may live at most. */
  maxLifetimeSeconds: number;
  /** Smallest `idle_timeout` metadata value accepted (the hosted product's is 60). */
  minIdleTimeoutSeconds: number;
  /** How long after its creation a paused sandbox is kept before it is deleted. */
  pausedRetentionSeconds: number;
  /** Most clones one clone call may make. */
  maxCloneCount: number;
  /** Sandboxes kept started per template, handed out by create; 0 turns the pool off. */
  warmPoolSize: number;
  /** Seconds after a restore from a template's boot state failed that the state is saved anew. */
  bootStateRetrySeconds: number;
  /** Sandbox starts run at most this many at once; a burst waits its turn (default: twice the
   *  cores). */
  startConcurrency: number;
  /** Capacity: past these a create is refused with 429 saying which limit it met. Most sandboxes
   *  that exist (running or paused); least memory and data-directory disk left on the host. */
  maxSandboxes: number;
  minFreeMemoryMB: number;
  minFreeDiskMB: number;
  /** Paused sandboxes whose processes stay frozen in memory (a resume thaws them) at most; 0
   *  pauses every sandbox cold. Past it, or with less memory available than warmPausedMinFreeMB,
   *  the oldest are evicted to their checkpoint (sandboxes/warm-pauses.ts). */
  warmPausedMax: number;
  /** Cold resumes restore memory on demand (src/runtime/runc/restore-lazy.ts). */
  lazyRestore: boolean;
  warmPausedMinFreeMB: number;
  /** Resources of a sandbox whose template names none. */
  defaultCpuCount: number;
  defaultMemoryMB: number;
  defaultDiskSizeMB: number;
  /** Each sandbox's writable layer on a disk of its template's size (src/runtime/runc/sandbox-disk.ts);
   *  false keeps it in the data directory, unlimited: for the benchmark's on/off comparison only. */
  diskQuota: boolean;
  pidsLimit: number;
  /** Private IPv4 /16 from which every sandbox gets a /30 for its veth pair. */
  networkCidr: string;
  /** Link-local and private destinations (IPv4 CIDRs) sandboxes may reach nonetheless: without
   *  them, 169.254/16, 10/8, 172.16/12, 192.168/16 and 100.64/10 are refused to every sandbox,
   *  whatever its allowOut (DNS to the configured resolvers excepted). */
  egressAllowPrivate: string[];
  /** runc binary and its state directory (kept apart from other users of runc). */
  runcPath: string;
  runcRoot: string;
  /** User namespaces: ids 0..size-1 in every sandbox are base..base+size-1 on the host, so root
   *  inside is nobody outside; unset, sandboxes share the host's ids. */
  userns?: IdMapping;
  /** CRIU built by setup (scripts/build-criu.sh) for pause, resume, clone and snapshots. */
  criuPath: string;
  /** Deadline of one CRIU checkpoint or restore: a hung CRIU would hold its sandbox's operations,
   *  and the server's shutdown, for ever. */
  criuTimeoutSeconds: number;
  /** Node binary whose copy, with its own loader and libraries, runs envd in every sandbox. */
  nodePath: string;
  /** Where that copy and the sandboxes' init are prepared, one folder per content. */
  sandboxToolsCache: string;
  /** Folder with the bundled in-sandbox programs (envd.mjs). */
  sandboxBundleDir: string;
  /** Debian mirror that debootstrap builds template root filesystems from. */
  debianMirror: string;
  /** Registries tried, in order, before the one an image names (as Docker's `registry-mirrors`):
   *  `host[:port]` of a registry that mirrors Docker Hub, so an air-gapped host pulls
   *  `ubuntu:22.04` from its own. */
  registryMirrors: string[];
  /** Registries (`host[:port]`) reached over plain HTTP or with an unverified certificate. */
  insecureRegistries: string[];
  /** How long a template's ready command may keep failing after its start command before the
   *  build fails (the hosted product waits up to 10 minutes). */
  templateReadyTimeoutSeconds: number;
  /** Days an unused layer stays in the build cache (see the pruning rule in layer-cache.ts). */
  layerCacheDays: number;
  /** Largest COPY upload (a gzip tar) a template build accepts, in bytes. */
  maxUploadBytes: number;
  /** `keys`: every control-plane request needs an API key this server made; `none`: no check
   *  (local-only use, opt-in). */
  auth: 'keys' | 'none';
  /** Least severe log level written (pino's levels; `silent` writes none). */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** File the logs are appended to as JSON lines; when unset they go to stdout (readable when
   *  stdout is a terminal, JSON lines otherwise). */
  logFile?: string;
}

/** The data directory's layout: every file and folder the server keeps there, named once. */
export function dataFiles(dataDir: string) {
  return {
    database: path.join(dataDir, 'sandcastle.db'),
    /** The API key the first start makes, readable by root only. */
    apiKey: path.join(dataDir, 'api-key'),
    /** The local CA and wildcard certificate made when no certificate is configured. */
    tls: path.join(dataDir, 'tls'),
    /** The public-URL data plane's configuration, map and sockets (HAProxy's and Node's). */
    dataPlane: path.join(dataDir, 'data-plane'),
    /** One folder per sandbox: its runtime bundle, writable layer and root filesystem mount. */
    sandboxes: path.join(dataDir, 'sandboxes'),
    /** Pause checkpoints, one folder per paused sandbox, named by its id. */
    checkpoints: path.join(dataDir, 'checkpoints'),
    /** Images a clone call restores its clones from, gone when the call ends. */
    clones: path.join(dataDir, 'clones'),
    /** Saved states of snapshots, one folder per snapshot id. */
    snapshots: path.join(dataDir, 'snapshots'),
    /** Templates' saved boot states. */
    templateStates: path.join(dataDir, 'template-states'),
    /** Read-only overlay layers, one folder each, named by content: an image layer by its
     *  digest, a build step's result by its cache key. Shared by every template using it. */
    layers: path.join(dataDir, 'layers'),
    /** Pulled images (an OCI layout of their blobs, as skopeo writes it). */
    images: path.join(dataDir, 'images'),
    /** COPY uploads of template builds: one gzip tar per files hash. */
    uploads: path.join(dataDir, 'uploads'),
    /** The /dev/fuse node bound into user-namespaced sandboxes, owned by their root. */
    fuseDevice: path.join(dataDir, 'dev-fuse'),
    /** Work folders of template builds in flight. */
    builds: path.join(dataDir, 'builds'),
    /** Volumes' content, one folder per volume id, bind-mounted into the sandboxes naming it. */
    volumes: path.join(dataDir, 'volumes'),
  };
}

export function loadConfig(overrides: Partial<Config> = {}): Config {
  const dataDir = overrides.dataDir ?? str('SANDCASTLE_DATA_DIR', '/var/lib/sandcastle');
  return {
    dataDir,
    templatesDir: str('SANDCASTLE_TEMPLATES_DIR', path.join(dataDir, 'templates')),
    host: str('SANDCASTLE_HOST', '127.0.0.1'),
    port: int('SANDCASTLE_PORT', 3000),
    domain: str('SANDCASTLE_DOMAIN', 'sandcastle.localhost'),
    httpsPort: int('SANDCASTLE_HTTPS_PORT', 443),
    httpPort: int('SANDCASTLE_HTTP_PORT', 80),
    publicHosts: list('SANDCASTLE_PUBLIC_HOSTS', ['::1', '127.0.0.1']),
    tlsCertFile: optional('SANDCASTLE_TLS_CERT'),
    tlsKeyFile: optional('SANDCASTLE_TLS_KEY'),
    dataPlane: oneOf('SANDCASTLE_DATA_PLANE', ['haproxy', 'node'] as const, 'haproxy'),
    haproxyPath: str('SANDCASTLE_HAPROXY', 'haproxy'),
    dnsServers: list('SANDCASTLE_DNS_SERVERS', hostNameServers),
    metricsIntervalMs: int('SANDCASTLE_METRICS_INTERVAL_MS', 2000),
    defaultTimeoutSeconds: int('SANDCASTLE_DEFAULT_TIMEOUT', 300),
    maxTimeoutSeconds: int('SANDCASTLE_MAX_TIMEOUT', 3600),
    maxLifetimeSeconds: int('SANDCASTLE_MAX_LIFETIME', 3600),
    minIdleTimeoutSeconds: int('SANDCASTLE_MIN_IDLE_TIMEOUT', 60),
    pausedRetentionSeconds: int('SANDCASTLE_PAUSED_RETENTION', 30 * 24 * 3600),
    maxCloneCount: int('SANDCASTLE_MAX_CLONE_COUNT', 20),
    warmPoolSize: int('SANDCASTLE_WARM_POOL', 2),
    bootStateRetrySeconds: int('SANDCASTLE_BOOT_STATE_RETRY', 60),
    startConcurrency: int('SANDCASTLE_START_CONCURRENCY', 2 * os.availableParallelism()),
    maxSandboxes: int('SANDCASTLE_MAX_SANDBOXES', 1000),
    minFreeMemoryMB: int('SANDCASTLE_MIN_FREE_MEMORY_MB', 512),
    minFreeDiskMB: int('SANDCASTLE_MIN_FREE_DISK_MB', 1024),
    warmPausedMax: int('SANDCASTLE_WARM_PAUSED_MAX', 64),
    lazyRestore: oneOf('SANDCASTLE_LAZY_RESTORE', ['0', '1'] as const, '0') === '1',
    warmPausedMinFreeMB: int('SANDCASTLE_WARM_PAUSED_MIN_FREE_MB', 1024),
    defaultCpuCount: int('SANDCASTLE_CPU_COUNT', 2),
    defaultMemoryMB: int('SANDCASTLE_MEMORY_MB', 512),
    defaultDiskSizeMB: int('SANDCASTLE_DISK_MB', 20480),
    diskQuota: oneOf('SANDCASTLE_DISK_QUOTA', ['0', '1'] as const, '1') === '1',
    pidsLimit: int('SANDCASTLE_PIDS_LIMIT', 4096),
    networkCidr: str('SANDCASTLE_NETWORK_CIDR', '10.77.0.0/16'),
    egressAllowPrivate: cidrList('SANDCASTLE_EGRESS_ALLOW_PRIVATE'),
    runcPath: str('SANDCASTLE_RUNC', 'runc'),
    runcRoot: str('SANDCASTLE_RUNC_ROOT', '/run/sandcastle/runc'),
    userns: usernsMapping(),
    criuPath: str('SANDCASTLE_CRIU', '/usr/local/lib/sandcastle/criu'),
    criuTimeoutSeconds: int('SANDCASTLE_CRIU_TIMEOUT', 600),
    nodePath: str('SANDCASTLE_NODE', process.execPath),
    sandboxToolsCache: str('SANDCASTLE_SANDBOX_TOOLS', path.join(installDir, 'dist', 'sandbox-tools')),
    sandboxBundleDir: str('SANDCASTLE_SANDBOX_BUNDLE', path.join(installDir, 'dist', 'sandbox')),
    debianMirror: str('SANDCASTLE_DEBIAN_MIRROR', 'http://deb.debian.org/debian'),
    registryMirrors: list('SANDCASTLE_REGISTRY_MIRRORS', []),
    insecureRegistries: list('SANDCASTLE_INSECURE_REGISTRIES', []),
    templateReadyTimeoutSeconds: int('SANDCASTLE_TEMPLATE_READY_TIMEOUT', 600),
    layerCacheDays: int('SANDCASTLE_LAYER_CACHE_DAYS', 7),
    maxUploadBytes: int('SANDCASTLE_MAX_UPLOAD_MB', 1024) * 1024 * 1024,
    auth: oneOf('SANDCASTLE_AUTH', ['keys', 'none'] as const, 'keys'),
    logLevel: oneOf('SANDCASTLE_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    logFile: optional('SANDCASTLE_LOG_FILE'),
    ...overrides,
  };
}
