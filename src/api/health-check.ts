// GET /health: whether this server can do its work. The runtime answers (`runc list` in its state
// folder), the database reads, the data directory's disk is writable with the free space kept
// for sandboxes (SANDCASTLE_MIN_FREE_DISK_MB), and the public URLs' data plane runs. Each check is
// given a few seconds: a hung one is reported, not waited for. A load balancer probing every second
// gets the last report while it is fresh, so it does not run `runc` each time.
import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { describe } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Db } from '../store/database.js';

const checkTimeoutMs = 5_000;
const MiB = 1024 * 1024;

export interface PartHealth {
  healthy: boolean;
  /** Why it is not healthy. */
  error?: string;
  [detail: string]: unknown;
}

export interface HealthReport {
  healthy: boolean;
  runtime: PartHealth;
  database: PartHealth;
  disk: PartHealth;
  /** Present when HAProxy relays the public URLs. */
  dataPlane?: PartHealth;
}

export interface HealthDeps {
  runtime: Pick<Runtime, 'name' | 'listRunning'>;
  db: Db;
  dataDir: string;
  minFreeDiskMB: number;
  /** HAProxy's process id when it runs; undefined when there is no HAProxy data plane. */
  dataPlane?: { pid(): number | undefined };
}

async function part(what: string, check: () => Promise<PartHealth>): Promise<PartHealth> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<PartHealth>((resolve) => {
    timer = setTimeout(() => resolve({ healthy: false, error: `${what} did not answer within ${checkTimeoutMs / 1000} s` }), checkTimeoutMs);
  });
  try {
    return await Promise.race([check().catch((err: unknown): PartHealth => ({ healthy: false, error: `${what}: ${describe(err)}` })), late]);
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(deps: HealthDeps): Promise<HealthReport> {
  const [runtime, database, disk] = await Promise.all([
    part('the runtime', async () => ({ healthy: true, name: deps.runtime.name, runningContainers: (await deps.runtime.listRunning()).length })),
    part('the database', async () => {
      deps.db.prepare('SELECT 1 FROM sandboxes LIMIT 1').get();
      return { healthy: true };
    }),
    part('the data directory', async () => {
      await access(deps.dataDir, constants.W_OK);
      const fs = await statfs(deps.dataDir);
      const freeBytes = fs.bavail * fs.bsize;
      const minFreeBytes = deps.minFreeDiskMB * MiB;
      if (freeBytes < minFreeBytes) {
        return { healthy: false, freeBytes, minFreeBytes, error: `the data directory's disk has ${Math.floor(freeBytes / MiB)} MiB free, less than the ${deps.minFreeDiskMB} MiB kept free (SANDCASTLE_MIN_FREE_DISK_MB); new sandboxes are refused` };
      }
      return { healthy: true, freeBytes, minFreeBytes };
    }),
  ]);
  const report: HealthReport = { healthy: runtime.healthy && database.healthy && disk.healthy, runtime, database, disk };
  if (deps.dataPlane) {
    const pid = deps.dataPlane.pid();
    report.dataPlane = pid === undefined ? { healthy: false, error: 'HAProxy (the data plane) is not running; the server is starting it again' } : { healthy: true, pid };
    report.healthy &&= report.dataPlane.healthy;
  }
  return report;
}

/** `check`, run at most once per `maxAgeMs`: callers within that time share its report. */
export function cachedHealth(check: () => Promise<HealthReport>, maxAgeMs = 1_000): () => Promise<HealthReport> {
  let last: { at: number; report: Promise<HealthReport> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= maxAgeMs) last = { at: now, report: check() };
    return last.report;
  };
}
