// The OCI runtime configuration (config.json) of a sandbox container.
import { resolvConfPath } from '../network/netns.js';
import { seccompProfile } from './seccomp-profile.js';
import { sandboxBundleDir, sandboxInit, sandboxNode, sandboxToolsDir } from './sandbox-tools.js';
import type { SandboxSpec } from '../runtime.js';

export { sandboxBundleDir, sandboxNode, sandboxToolsDir } from './sandbox-tools.js';

export interface OciSpecInput {
  spec: SandboxSpec;
  netnsPath: string;
  /** Host folder with tini, node and node's libraries (sandbox-tools.ts), mounted read-only at
   *  sandboxToolsDir. */
  toolsDir: string;
  /** Host folder with envd.mjs (and the interpreter), mounted read-only at sandboxBundleDir. */
  bundleDir: string;
  /** CRIU configuration file that runc passes to every checkpoint and restore of this container. */
  criuConfig?: string;
}

/** PID 1 is the mounted static tini, which reaps the orphans that user commands leave behind (node
 *  would not); nothing of the image is needed to start envd. A template's start command runs in the
 *  background of the image's shell, which then becomes envd: an image without /bin/sh cannot have
 *  a start command. */
function initArgs(startCommand: string | undefined): string[] {
  const envd = [sandboxNode, `${sandboxBundleDir}/envd.mjs`];
  if (!startCommand) return [sandboxInit, '--', ...envd];
  return [sandboxInit, '--', '/bin/sh', '-c', `(${startCommand}) </dev/null >/dev/null 2>&1 & exec ${envd.join(' ')}`];
}

const capabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** The process settings a checkpoint carries with it (capabilities, limits, seccomp filter): a saved
 *  state taken under other ones would bring them back, so they are part of its key. */
export function processSecurityFingerprint(): string {
  return JSON.stringify({ capabilities, rlimits, seccomp: seccompProfile() });
}

const rlimits = [{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }];

function charDevice(path: string, major: number, minor: number) {
  return { path, type: 'c', major, minor, fileMode: 0o666, uid: 0, gid: 0 };
}

export function buildOciSpec({ spec, netnsPath, toolsDir, bundleDir, criuConfig }: OciSpecInput): object {
  const cpuPeriod = 100_000;
  return {
    ociVersion: '1.0.2',
    ...(criuConfig ? { annotations: { 'org.criu.config': criuConfig } } : {}),
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: initArgs(spec.startCommand),
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'LANG=C.UTF-8'],
      cwd: '/',
      capabilities: {
        bounding: capabilities,
        effective: capabilities,
        permitted: capabilities,
      },
      rlimits,
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: spec.id,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      // The bundle's mount point is a folder of the tools folder, so this mount comes first.
      { destination: sandboxToolsDir, type: 'bind', source: toolsDir, options: ['bind', 'ro', 'nosuid', 'nodev'] },
      { destination: sandboxBundleDir, type: 'bind', source: bundleDir, options: ['rbind', 'ro', 'nosuid', 'nodev'] },
      // The sandbox network's own resolv.conf (netns.ts), read-only: the name servers it may reach.
      { destination: '/etc/resolv.conf', type: 'bind', source: resolvConfPath(spec.id), options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] },
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'network', path: netnsPath },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
      cgroupsPath: `/sandcastle/${spec.id}`,
      resources: {
        memory: { limit: spec.memoryMB * 1024 * 1024 },
        cpu: { period: cpuPeriod, quota: spec.cpuCount * cpuPeriod },
        pids: { limit: spec.pidsLimit },
        devices: [
          { allow: false, access: 'rwm' },
          ...[[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2], [10, 229]].map(([major, minor]) => ({
            allow: true, type: 'c', major, minor, access: 'rwm',
          })),
          { allow: true, type: 'c', major: 136, access: 'rwm' },
        ],
      },
      devices: [charDevice('/dev/fuse', 10, 229)],
      seccomp: seccompProfile(),
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
