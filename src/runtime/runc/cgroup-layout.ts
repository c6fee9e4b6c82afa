// Which cgroup hierarchy the host has, found once at start. runc drives limits, freezing and
// CRIU on either; Sandcastle itself reads usage and looks for leftovers, so it must know where a
// sandbox's cgroup lives: `<root>/sandcastle/<id>` on v2 (unified), `<root>/<controller>/
// sandcastle/<id>` on v1 (including the v1/v2 hybrid, whose cgroup2 mount runc leaves unused).
import { existsSync, readFileSync, readdirSync, statfsSync } from 'node:fs';
import path from 'node:path';

export const defaultCgroupRoot = '/sys/fs/cgroup';

/** The parent of every sandbox cgroup: oci-spec.ts gives runc `cgroupsPath: /sandcastle/<id>`. */
export const sandboxCgroupParent = 'sandcastle';

/** v2 controllers a sandbox is limited and measured with (freezing is cgroup.freeze, built in). */
export const requiredV2Controllers = ['cpu', 'memory', 'pids'] as const;

/** v1 controllers runc needs for the limits, device rules and freezing of a sandbox, and that
 *  the usage readers read (cpuacct). */
export const requiredV1Controllers = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer', 'devices'] as const;

export type V1Controller = (typeof requiredV1Controllers)[number];

export type CgroupLayout = { version: 'v1' | 'v2'; root: string };

// statfs f_type of a cgroup2 mount (CGROUP2_SUPER_MAGIC in linux/magic.h).
const cgroup2Magic = 0x63677270;

function isCgroup2Mount(root: string): boolean {
  try {
    return statfsSync(root).type === cgroup2Magic;
  } catch {
    return false;
  }
}

/** A v1 controller is mounted at `<root>/<name>` when that folder has the files every cgroup has. */
function hasV1Controller(root: string, name: string): boolean {
  return existsSync(path.join(root, name, 'cgroup.procs'));
}

function listWords(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

function detectV2(root: string): CgroupLayout {
  const file = path.join(root, 'cgroup.controllers');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cgroup v2 is mounted at ${root} but ${file} cannot be read: ${(err as Error).message}`);
  }
  const available = text.trim().split(/\s+/).filter(Boolean);
  const missing = requiredV2Controllers.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    const noun = missing.length === 1 ? 'controller' : 'controllers';
    throw new Error(
      `cgroup v2 at ${root} lacks the ${listWords(missing)} ${noun} in cgroup.controllers ` +
        `(it lists: ${available.join(' ') || 'nothing'}); Sandcastle limits and measures sandboxes with ` +
        `${listWords(requiredV2Controllers)}: enable them (remove cgroup_disable=… from the kernel command ` +
        `line, do not bind them to a cgroup v1 hierarchy; inside a container, have the host delegate them)`,
    );
  }
  return { version: 'v2', root };
}

/**
 * The layout of the cgroup hierarchy at `root`: v2 when root is a cgroup2 mount (it has
 * cgroup.controllers) listing cpu, memory and pids; v1 when the controllers Sandcastle needs are
 * mounted in folders of their own below root. Throws an error saying what was found and what is
 * needed otherwise: the server refuses to start on a layout runc could not limit or freeze.
 */
export function detectCgroupLayout(root: string = defaultCgroupRoot): CgroupLayout {
  if (existsSync(path.join(root, 'cgroup.controllers')) || isCgroup2Mount(root)) return detectV2(root);
  const found = requiredV1Controllers.filter((c) => hasV1Controller(root, c));
  if (found.length === requiredV1Controllers.length) return { version: 'v1', root };
  const needed = `Sandcastle needs cgroup v2 mounted at ${root} with the ${listWords(requiredV2Controllers)} ` +
    `controllers (Debian 12's default), or cgroup v1 with the ${listWords(requiredV1Controllers)} controllers ` +
    `mounted in folders of their own below it`;
  if (found.length === 0) {
    throw new Error(`no cgroup hierarchy at ${root}: neither cgroup v2 (no cgroup.controllers) nor cgroup v1 controller folders; ${needed}`);
  }
  const missing = requiredV1Controllers.filter((c) => !found.includes(c));
  throw new Error(
    `cgroup v1 at ${root} lacks the ${listWords(missing)} controller${missing.length === 1 ? '' : 's'} ` +
      `(found: ${listWords(found)}); ${needed}`,
  );
}

let hostLayout: CgroupLayout | undefined;

/** The layout at the default root, detected on first use. */
export function hostCgroupLayout(): CgroupLayout {
  hostLayout ??= detectCgroupLayout();
  return hostLayout;
}

/** The folder that holds every sandbox's cgroup; on v1, the one in `controller`'s hierarchy. */
export function sandboxesCgroupDir(layout: CgroupLayout, controller: V1Controller = 'memory'): string {
  return layout.version === 'v2' ? path.join(layout.root, sandboxCgroupParent) : path.join(layout.root, controller, sandboxCgroupParent);
}

/** The folder of a sandbox's cgroup; on v1, the one in `controller`'s hierarchy. */
export function sandboxCgroupDir(layout: CgroupLayout, id: string, controller: V1Controller = 'memory'): string {
  return path.join(sandboxesCgroupDir(layout, controller), id);
}

/** The folders that hold sandbox cgroups: on v1 one in each mounted hierarchy (runc joins all of
 *  them, not only the controllers Sandcastle reads), on v2 the one. */
export function sandboxCgroupParents(layout: CgroupLayout): string[] {
  if (layout.version === 'v2') return [sandboxesCgroupDir(layout)];
  // Combined hierarchies also appear as symlinks (cpu,cpuacct → cpu): each folder once.
  return readdirSync(layout.root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join(layout.root, e.name, sandboxCgroupParent));
}

/** Every folder runc may have made for sandbox `id` (see sandboxCgroupParents). */
export function sandboxCgroupDirsEverywhere(layout: CgroupLayout, id: string): string[] {
  return sandboxCgroupParents(layout).map((parent) => path.join(parent, id));
}
