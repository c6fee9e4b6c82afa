// Resident memory and open descriptors of a process, from /proc: how the soak sees the server grow.
// Connections a client holds open to the server's port are counted apart: idle keep-alive
// connections stay up to the server's keep-alive timeout (65 s) and belong to the client's pool,
// not to anything the server leaked.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessUsage {
  rssMiB: number;
  /** Every open descriptor. */
  fds: number;
  /** Of those, established connections accepted on `port`. */
  clientConnections: number;
}

/** Socket inodes of established TCP connections whose local port is `port`, seen from the
 *  network namespace of `pid`. */
function establishedInodes(pid: number, port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1]!.split(':')[1]!, 16);
      if (localPort === port && f[3] === '01') inodes.add(f[9]!);
    }
  }
  return inodes;
}

export function processUsage(pid: number, port: number): ProcessUsage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (rssKiB === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  const connections = establishedInodes(pid, port);
  let fds = 0;
  let clientConnections = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    fds++;
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the read
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && connections.has(inode)) clientConnections++;
  }
  return { rssMiB: Number(rssKiB) / 1024, fds, clientConnections };
}
