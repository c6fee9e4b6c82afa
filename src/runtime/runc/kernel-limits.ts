// The kernel's limits that all sandboxes share, raised at the server's start for as many
// sandboxes as it may hold (SANDCASTLE_MAX_SANDBOXES), each only ever raised. Most are counted per
// host user: every user-namespaced sandbox's root is the mapping's one host uid, and inotify
// instances of every sandbox are charged to the host user that made its namespaces (root), with
// or without user namespaces. What those guard (kernel memory) is charged to the sandbox's memory
// cgroup as well, which is what bounds one sandbox. The neighbour (ARP) table is one for the
// whole host, every network namespace's entries in it.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What the server may hold: its sandboxes, and the process ids each may use. */
export interface HostNeeds {
  sandboxes: number;
  pidsLimit: number;
}

/** A sysctl (dotted name) and the value the sandboxes need, given its value now. */
export interface KernelLimit {
  sysctl: string;
  want: (now: number, needs: HostNeeds) => number;
}

/** Kernel keys a user-namespaced sandbox holds: runc makes it a session keyring of its own. */
const keysPerSandbox = 2;
/** Quota bytes a session keyring takes (its description and payload), with room to spare. */
const bytesPerKey = 100;
const maxKeys = (now: number, { sandboxes }: HostNeeds) => Math.max(now, sandboxes * keysPerSandbox + 200);

/** Pipe buffer pages a sandbox may hold on average (64 pipes of the default 64 KiB). */
const pipePagesPerSandbox = 1024;
/** The kernel's default fs.pipe-user-pages-soft, kept for the host's own users of that uid. */
const defaultPipePages = 16384;
/** 0 is "no limit": left as it is. */
const pipePages = (now: number, { sandboxes }: HostNeeds) => (now === 0 ? 0 : Math.max(now, sandboxes * pipePagesPerSandbox + defaultPipePages));

/** What one user of a machine of its own gets by default: 128 inotify instances (a dev server,
 *  an editor, envd's watchers each take one) and, per sandbox, a generous share of watches. */
const inotifyInstancesPerSandbox = 128;
const inotifyWatchesPerSandbox = 65536;

/**
 * Kernel keys: the defaults (200 keys, 20000 bytes) stopped the start of about the 170th
 * namespaced sandbox ("unable to create session key: disk quota exceeded").
 * Pipes: past the soft limit the kernel gives new pipes one page and refuses to enlarge one
 * (F_SETPIPE_SZ: EPERM) to a user without CAP_SYS_RESOURCE on the host: with the default, CRIU
 * could not restore a pipe's size once about 250 namespaced sandboxes were live, so creates from
 * boot states and resumes failed.
 */
const namespacedRootLimits: KernelLimit[] = [
  { sysctl: 'kernel.keys.maxkeys', want: maxKeys },
  { sysctl: 'kernel.keys.maxbytes', want: (now, needs) => Math.max(now, maxKeys(0, needs) * bytesPerKey) },
  { sysctl: 'fs.pipe-user-pages-hard', want: pipePages },
  { sysctl: 'fs.pipe-user-pages-soft', want: pipePages },
];

/** The kernel's default kernel.pid_max on a small machine, and the most it takes (64-bit). */
const defaultPidMax = 32768;
const maxPidMax = 4194304;

/** Neighbour entries a sandbox keeps: its address on the host's veth end, its gateway's inside. */
const neighboursPerSandbox = 2;

/**
 * inotify: with the default 128 instances, the 129th sandbox holding one could not watch a file
 * (EMFILE), and neither could the host's root.
 * Neighbours: past gc_thresh3 (1024 by default, ~510 sandboxes) the kernel refuses new entries
 * ("neighbour table overflow") and packets to a new sandbox are dropped; past gc_thresh2 it
 * collects entries every 5 s, and the next packet waits for ARP again. Room is kept for as many
 * entries of the host's own again.
 * Process ids: one range for the whole host, 32768 on a 2-core machine unless systemd raised it
 * (Debian's 50-pid-max.conf): eight sandboxes at their pids limit would take them all. Raised
 * towards the kernel's most; sandbox-pids-cap.ts keeps the host a share whatever the sandboxes do.
 */
const everyRootLimits: KernelLimit[] = [
  { sysctl: 'kernel.pid_max', want: (now, { sandboxes, pidsLimit }) => Math.max(now, Math.min(maxPidMax, sandboxes * pidsLimit + defaultPidMax)) },
  { sysctl: 'fs.inotify.max_user_instances', want: (now, { sandboxes }) => Math.max(now, (sandboxes + 1) * inotifyInstancesPerSandbox) },
  { sysctl: 'fs.inotify.max_user_watches', want: (now, { sandboxes }) => Math.max(now, sandboxes * inotifyWatchesPerSandbox) },
  { sysctl: 'net.ipv4.neigh.default.gc_thresh2', want: (now, { sandboxes }) => Math.max(now, sandboxes * neighboursPerSandbox + 512) },
  { sysctl: 'net.ipv4.neigh.default.gc_thresh3', want: (now, { sandboxes }) => Math.max(now, 2 * (sandboxes * neighboursPerSandbox + 512)) },
];

/** The limits a server's sandboxes need raised: more when their root is a namespaced one. */
export function kernelLimitsFor(userns: boolean): KernelLimit[] {
  return userns ? [...namespacedRootLimits, ...everyRootLimits] : everyRootLimits;
}

/** The new value of each limit too low for what the server may hold, by sysctl name. */
async function raisedKernelLimits(limits: KernelLimit[], needs: HostNeeds, root: string): Promise<Map<string, { now: number; want: number }>> {
  const raised = new Map<string, { now: number; want: number }>();
  for (const limit of limits) {
    const now = Number((await readFile(sysctlFile(root, limit.sysctl), 'utf8')).trim());
    const want = limit.want(now, needs);
    if (want !== now) raised.set(limit.sysctl, { now, want });
  }
  return raised;
}

/** Raises the limits too low for what the server may hold; says what it raised, or throws saying
 *  what to set when it cannot (a read-only /proc/sys in a container). */
export async function raiseKernelLimits(limits: KernelLimit[], needs: HostNeeds, root = '/proc/sys'): Promise<string | undefined> {
  const raised = await raisedKernelLimits(limits, needs, root);
  if (raised.size === 0) return undefined;
  const settings = [...raised].map(([sysctl, { want }]) => `${sysctl}=${want}`);
  try {
    for (const [sysctl, { want }] of raised) await writeFile(sysctlFile(root, sysctl), String(want));
  } catch (err) {
    const was = [...raised].map(([sysctl, { now }]) => `${sysctl} ${now}`).join(', ');
    throw new Error(
      `the kernel's limits (${was}) would stop sandboxes long before SANDCASTLE_MAX_SANDBOXES (${needs.sandboxes}), and they cannot be raised here (${(err as Error).message}): ` +
        `sysctl -w ${settings.join(' ')}, or lower SANDCASTLE_MAX_SANDBOXES`,
      { cause: err },
    );
  }
  return `kernel limits the sandboxes share raised: ${settings.join(', ')}`;
}

function sysctlFile(root: string, sysctl: string): string {
  return path.join(root, ...sysctl.split('.'));
}
