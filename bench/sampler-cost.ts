// CPU the server spends while 100 sandboxes run idle: the metrics sampler is then nearly all it
// does, so this bounds the sampler's cost from above. Read from /proc/<pid>/stat over a window.
import { Sandbox } from 'novita-sandbox';
import { cpuTicks, ticksPerSecond } from './stats.js';

export async function samplerCost(serverPid: number, sandboxes: number, windowSeconds: number): Promise<{ cpuPct: number; created: number }> {
  const made: Sandbox[] = [];
  try {
    // A few at a time: the goal is many running sandboxes, not a create benchmark.
    while (made.length < sandboxes) {
      const batch = await Promise.all(Array.from({ length: Math.min(5, sandboxes - made.length) }, () => Sandbox.create({ timeoutMs: 600_000 })));
      made.push(...batch);
    }
    // Let creation's own work and the first samples settle.
    await new Promise((r) => setTimeout(r, 5000));
    const t0 = cpuTicks(serverPid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, windowSeconds * 1000));
    const used = (cpuTicks(serverPid) - t0) / ticksPerSecond;
    const wall = (performance.now() - w0) / 1000;
    return { cpuPct: (used / wall) * 100, created: made.length };
  } finally {
    for (let i = 0; i < made.length; i += 10) await Promise.all(made.slice(i, i + 10).map((s) => s.kill()));
  }
}
