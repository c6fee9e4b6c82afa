// Host processes a previous server process started and did not see finish (runc checkpointing or
// restoring, a copy of a layer): after a crash they go on without it, and recovery waits for them
// so it judges what they leave, not what they are in the middle of.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Pids of processes of this host's PID namespace (not a sandbox's) whose command line contains
 *  one of `needles`, other than this process. */
export function hostProcessesMentioning(needles: string[], procRoot = '/proc'): number[] {
  const ownNs = readlinkSafe(`${procRoot}/self/ns/pid`);
  const found: number[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    // A sandbox's processes live in its own PID namespace, whatever their arguments say.
    if (readlinkSafe(`${procRoot}/${name}/ns/pid`) !== ownNs) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`${procRoot}/${name}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    if (needles.some((n) => cmdline.includes(n))) found.push(Number(name));
  }
  return found;
}

function readlinkSafe(file: string): string | undefined {
  try {
    return readlinkSync(file);
  } catch {
    return undefined;
  }
}

/** Waits until none of those processes is left; after `timeoutMs` kills what remains. Resolves to
 *  how many there were at first. */
export async function waitForHostProcesses(needles: string[], timeoutMs: number): Promise<number> {
  const first = hostProcessesMentioning(needles);
  const deadline = Date.now() + timeoutMs;
  let left = first;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(20);
    left = hostProcessesMentioning(needles);
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return first.length;
}
