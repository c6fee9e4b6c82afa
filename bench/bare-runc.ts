// The floors the create benchmarks are compared with: mount an overlay of the same template, `runc
// run` (foreground) a container running `true` in fresh namespaces (timed), delete it, unmount.
// One alone, and a burst of them at once.
import type { Config } from '../src/config.js';
import { runCommand } from '../src/runtime/run-command.js';
import { type BareContainer, prepareBareContainer } from './bare-container.js';
import { machineBusyMs } from './stats.js';

export async function bareRuncRun(config: Config, id: string): Promise<number> {
  const t0 = performance.now();
  const c = await prepareBareContainer(config, id, ['/bin/true'], 256);
  try {
    await runCommand(config.runcPath, [...c.runc, 'run', '--bundle', c.bundle, id], { quiet: true });
    return performance.now() - t0;
  } finally {
    await c.remove();
  }
}

/** `count` bare runs started at once: each one's time from the common start to its `true`
 *  exiting, and the machine's CPU meanwhile. The containers are removed after the last ends, as
 *  the burst of creates kills its sandboxes only once all answered. */
export async function bareRuncBurst(config: Config, count: number): Promise<{ latencies: number[]; busyMs: number }> {
  const containers: BareContainer[] = [];
  const busy0 = machineBusyMs();
  const t0 = performance.now();
  // Settled, not all: a failed one must not leave the others running past the removal.
  const runs = await Promise.allSettled(
    Array.from({ length: count }, async (_, i) => {
      const id = `burst-floor${i}`;
      const c = await prepareBareContainer(config, id, ['/bin/true'], 256);
      containers.push(c);
      await runCommand(config.runcPath, [...c.runc, 'run', '--bundle', c.bundle, id], { quiet: true });
      return performance.now() - t0;
    }),
  );
  const busyMs = machineBusyMs() - busy0;
  await Promise.all(containers.map((c) => c.remove()));
  const latencies: number[] = [];
  for (const run of runs) {
    if (run.status === 'rejected') throw new Error(`a bare runc run of the burst floor failed: ${run.reason instanceof Error ? run.reason.message : String(run.reason)}`);
    latencies.push(run.value);
  }
  return { latencies, busyMs };
}
