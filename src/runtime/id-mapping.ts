// The user-namespace mapping every sandbox of a server runs under: ids 0..size-1 inside are
// base..base+size-1 on the host, so root inside is an unprivileged uid outside. One mapping per
// server (a setting), shared by all its sandboxes: template layers are given the mapped owners
// once, when they are made, and a create copies nothing.
import { readFileSync } from 'node:fs';

export interface IdMapping {
  /** Host uid and gid of root inside. */
  base: number;
  /** How many ids are mapped. */
  size: number;
}

/** Images own files as `nobody` (65534): a smaller range would leave them without an owner. */
export const minMappingSize = 65536;

/** The host id of `id` inside a sandbox; unchanged without a mapping. Ids past the range have no
 *  owner inside (they show as `nobody`) and are left as they are. */
export function hostId(id: number, mapping: IdMapping | undefined): number {
  return mapping && id >= 0 && id < mapping.size ? mapping.base + id : id;
}

/** Names the ownership of layers made for `mapping`: a folder per mapping keeps a server with
 *  another mapping (or none) from using layers whose owners mean nothing to it. */
export function mappingTag(mapping: IdMapping): string {
  return `userns-${mapping.base}-${mapping.size}`;
}

/** The mapping's own rules: a range apart from the ids inside (so shifting a layer twice changes
 *  nothing) and within 32 bits. */
export function mappingProblem(mapping: IdMapping): string | undefined {
  const { base, size } = mapping;
  if (!Number.isInteger(base) || !Number.isInteger(size)) return `the range must be whole numbers, got base ${base} and size ${size}`;
  if (size < minMappingSize) return `SANDCASTLE_USERNS_SIZE must be at least ${minMappingSize} (images own files as nobody, 65534), got ${size}`;
  if (base < size) return `SANDCASTLE_USERNS_BASE must be at least the size (${size}) so host ids of the range never equal ids inside, got ${base}`;
  if (base + size > 0xffffffff) return `the range ${base}..${base + size - 1} passes the largest id (4294967294)`;
  return undefined;
}

interface HostIdFiles {
  passwd: string;
  group: string;
  subuid: string;
  subgid: string;
  maxUserNamespaces: string;
}

function readHostFiles(): HostIdFiles {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  return {
    passwd: read('/etc/passwd'),
    group: read('/etc/group'),
    subuid: read('/etc/subuid'),
    subgid: read('/etc/subgid'),
    maxUserNamespaces: read('/proc/sys/user/max_user_namespaces'),
  };
}

/** Why this host cannot give sandboxes the mapping, or undefined: a kernel without user
 *  namespaces, or ids of the range that belong to someone else (a host account or group, or a
 *  sub-id range /etc/subuid or /etc/subgid gives a user). The server only reads these files. */
export function hostMappingProblem(mapping: IdMapping, files: HostIdFiles = readHostFiles()): string | undefined {
  const own = mappingProblem(mapping);
  if (own) return own;
  const end = mapping.base + mapping.size;
  const range = `${mapping.base}..${end - 1}`;
  const change = 'set SANDCASTLE_USERNS_BASE to a free range (or SANDCASTLE_USERNS=0 to run sandboxes without user namespaces)';
  if (!(Number(files.maxUserNamespaces.trim()) > 0)) {
    return `the kernel allows no user namespaces (/proc/sys/user/max_user_namespaces is ${files.maxUserNamespaces.trim() || 'missing'}): raise it, or set SANDCASTLE_USERNS=0`;
  }
  for (const [what, text] of [['account', files.passwd], ['group', files.group]] as const) {
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      const n = Number(id);
      if (name && Number.isInteger(n) && n >= mapping.base && n < end) return `host ${what} ${name} (id ${n}) is inside the sandboxes' id range ${range}: ${change}`;
    }
  }
  for (const [file, text] of [['/etc/subuid', files.subuid], ['/etc/subgid', files.subgid]] as const) {
    for (const line of text.split('\n')) {
      const [name, start, count] = line.split(':').map((s) => s.trim());
      const from = Number(start);
      const to = from + Number(count);
      if (name && Number.isInteger(from) && Number.isInteger(to) && from < end && to > mapping.base) {
        return `${file} gives ${name} the ids ${from}..${to - 1}, which overlap the sandboxes' id range ${range}: ${change}`;
      }
    }
  }
  return undefined;
}
