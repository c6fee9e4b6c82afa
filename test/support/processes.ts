// Finding processes by their command line, for tests and benchmarks that check what a server
// started (its HAProxy) or left behind.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { dataFiles } from '../../src/config.js';

export interface ProcessSeen {
  pid: number;
  /** Its arguments, each as given. */
  args: string[];
}

/** Running processes one of whose arguments contains `text`. */
export function processesWith(text: string): ProcessSeen[] {
  const found: ProcessSeen[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      if (args.some((a) => a.includes(text))) found.push({ pid: Number(pid), args });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The HAProxy the server of `dataDir` runs as its data plane, undefined when none runs. */
export function haproxyPidOf(dataDir: string): number | undefined {
  const configFile = path.join(dataFiles(dataDir).dataPlane, 'haproxy.cfg');
  return processesWith(configFile).find((p) => p.args.includes(configFile) && p.args.some((a) => a.endsWith('haproxy')))?.pid;
}
