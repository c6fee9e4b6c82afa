// The OCI runtime configuration (config.json) of a sandbox container.
import { resolvConfPath } from '../network/netns.js';
import { seccompProfile } from './seccomp-profile.js';
import { sandboxBundleDir, sandboxInit, sandboxNode, sandboxToolsDir } from './sandbox-tools.js';
import type { IdMapping } from '../id-mapping.js';
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
  /** Runs the sandbox in a user namespace of this mapping; `fuseDevice` is a /dev/fuse node owned
   *  by the sandbox's root (userns.ts), bind-mounted in place of the host's. */
  userns?: { mapping: IdMapping; fuseDevice: string };
}

/** PID 1 is the mounted static tini, which reaps the orphans that user commands leave behind (node
 *  would not); nothing of the image is needed to start envd. A template's start command runs in the
 *  background of the image's shell, which then becomes envd: an image without /bin/sh cannot have
 *  a start command. envd's flags let it collect garbage on demand, array buffers' memory included
 *  (memory-trim.ts). */
export function initArgs(startCommand: string | undefined): string[] {
  const envd = [sandboxNode, '--expose-gc', '--no-concurrent-array-buffer-sweeping', `${sandboxBundleDir}/envd.mjs`];
  if (!startCommand) return [sandboxInit, '--', ...envd];
  return [sandboxInit, '--', '/bin/sh', '-c', `(${startCommand}) </dev/null >/dev/null 2>&1 & exec ${envd.join(' ')}`];
}

const capabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** In its own user namespace root may also mount (FUSE: s3fs and the like): CAP_SYS_ADMIN there
 *  covers only what that namespace owns, and the kernel lets it mount only file systems made for
 *  that (FUSE, tmpfs, bind mounts, ...), never a host device. */
function capabilitiesFor(mapping: IdMapping | undefined): string[] {
  return mapping ? [...capabilities, 'CAP_SYS_ADMIN'] : capabilities;
}

/** The process settings a checkpoint carries with it (capabilities, limits, seccomp filter, user
 *  namespace): a saved state taken under other ones would bring them back, so they are part of
 *  its key. */
export function processSecurityFingerprint(mapping?: IdMapping): string {
  return JSON.stringify({ capabilities: capabilitiesFor(mapping), rlimits, seccomp: seccompProfile(), ...(mapping ? { userns: mapping } : {}) });
}

const rlimits = [{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }];

function charDevice(path: string, major: number, minor: number) {
  return { path, type: 'c', major, minor, fileMode: 0o666, uid: 0, gid: 0 };
}

export function buildOciSpec({ spec, netnsPath, toolsDir, bundleDir, criuConfig, userns }: OciSpecInput): object {
  const cpuPeriod = 100_000;
  const caps = capabilitiesFor(userns?.mapping);
  const idMap = userns && [{ containerID: 0, hostID: userns.mapping.base, size: userns.mapping.size }];
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
        bounding: caps,
        effective: caps,
        permitted: caps,
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
      // sysfs can only be mounted by a user namespace that owns the network namespace, which is
      // the host's: a user-namespaced sandbox gets an empty, read-only /sys instead.
      userns
        ? { destination: '/sys', type: 'tmpfs', source: 'none', options: ['nosuid', 'noexec', 'nodev', 'ro', 'mode=755', 'size=64k'] }
        : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      // runc cannot make device nodes in a user namespace; this one is bound in (the cgroup's
      // device rules below still apply).
      ...(userns ? [{ destination: '/dev/fuse', type: 'bind', source: userns.fuseDevice, options: ['bind', 'nosuid', 'noexec'] }] : []),
      // The bundle's mount point is a folder of the tools folder, so this mount comes first.
      { destination: sandboxToolsDir, type: 'bind', source: toolsDir, options: ['bind', 'ro', 'nosuid', 'nodev'] },
      { destination: sandboxBundleDir, type: 'bind', source: bundleDir, options: ['rbind', 'ro', 'nosuid', 'nodev'] },
      // The sandbox network's own resolv.conf (netns.ts), read-only: the name servers it may reach.
      { destination: '/etc/resolv.conf', type: 'bind', source: resolvConfPath(spec.id), options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] },
      // Volumes, read-write. runc hands every bind mount to CRIU as an external mount, so a
      // checkpoint leaves the volume out and a restore binds it again from here.
      ...(spec.volumes ?? []).map((v) => ({ destination: v.destination, type: 'bind', source: v.source, options: ['bind', 'rw', 'nosuid', 'nodev'] })),
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'network', path: netnsPath },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        ...(userns ? [{ type: 'user' }] : []),
      ],
      ...(idMap ? { uidMappings: idMap, gidMappings: idMap } : {}),
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
      devices: userns ? [] : [charDevice('/dev/fuse', 10, 229)],
      seccomp: seccompProfile(),
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
