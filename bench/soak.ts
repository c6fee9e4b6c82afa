// `npm run soak`: the long reliability run of issue 9, outside CI, against a server of its own.
// (a) pause/resume cycles of one sandbox with its process memory and files checked every cycle,
// (b) sandboxes streaming command output for minutes, (c) clone ×4 round after round. Prints work
// done, differences (must be 0), errors, and the server's resident memory and open descriptors
// before and after; writes JSON to bench/results/. Exits 1 on any difference or error.
// Counts and durations: SOAK_CYCLES (1000), SOAK_MEMORY_MIB (64), SOAK_FILES (100), SOAK_STREAMS
// (100), SOAK_STREAM_MINUTES (10), SOAK_CLONE_ROUNDS (100); 0 skips a part.
import { Sandbox } from 'novita-sandbox';
import { disposeServer, startServerProcess, useServer } from '../test/support/server-process.js';
import { envNumber } from './env-number.js';
import { killAll } from './fleet.js';
import { processUsage, type ProcessUsage } from './process-usage.js';
import { writeResults } from './results-file.js';
import { cloneSoak } from './soak-clones.js';
import { pauseResumeSoak } from './soak-pause.js';
import { streamSoak } from './soak-streams.js';
import { Tally } from './soak-tally.js';
import { percentile } from './stats.js';

const cycles = envNumber('SOAK_CYCLES', 1000);
const memoryMiB = envNumber('SOAK_MEMORY_MIB', 64);
const fileCount = envNumber('SOAK_FILES', 100);
const streams = envNumber('SOAK_STREAMS', 100);
const streamMinutes = envNumber('SOAK_STREAM_MINUTES', 10);
const cloneRounds = envNumber('SOAK_CLONE_ROUNDS', 100);
const clonesPerRound = 4;
// Lets the server finish what a part started (kills, pool refill) before its usage is read.
const settleMs = 5000;

/** The server's process figures and its V8 heap in use, from its own /metrics (prom-client's
 *  default metrics, read between collections). RSS also counts freed memory that glibc keeps for
 *  reuse: after a soak phase a `malloc_trim(0)` gave 39 of a server's 160 MiB back while its heap
 *  stayed flat, so RSS growing alone is no leak, and the heap tells. */
interface ServerUsage extends ProcessUsage {
  heapUsedMiB: number;
}

interface Part {
  tally: Tally;
  before: ServerUsage;
  after: ServerUsage;
  extra?: string;
}

// Sandboxes here outlive the default hour caps (a full run of part (a) takes about that long).
const server = await startServerProcess({ prepared: true, env: { SANDCASTLE_MAX_TIMEOUT: '86400', SANDCASTLE_MAX_LIFETIME: '86400' } });
useServer(server);
const pid = server.child.pid!;
const apiPort = Number(new URL(server.url).port);
const serverUsage = async (): Promise<ServerUsage> => {
  const res = await fetch(`${server.url}/metrics`, { headers: { 'X-API-KEY': server.apiKey } });
  const used = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(await res.text())?.[1];
  if (!res.ok || used === undefined) throw new Error(`the server's /metrics (${res.status}) gave no nodejs_heap_size_used_bytes`);
  return { ...processUsage(pid, apiPort), heapUsedMiB: Number(used) / 2 ** 20 };
};
const settled = async () => {
  await killAll();
  await new Promise((r) => setTimeout(r, settleMs));
  return serverUsage();
};
const parts: Part[] = [];
let start: ServerUsage;
let end: ServerUsage;
try {
  // Warm-up, so start-up allocations (pool, JIT) are not counted as growth.
  await (await Sandbox.create()).kill();
  start = await settled();

  /** Runs one part; a part that throws is recorded as an error of its tally, and the soak goes on. */
  const part = async (name: string, run: () => Promise<{ tally: Tally; extra?: string }>) => {
    const before = await serverUsage();
    console.log(`${name}…`);
    let result: { tally: Tally; extra?: string };
    try {
      result = await run();
    } catch (err) {
      const tally = new Tally(name);
      tally.error('aborted', err);
      result = { tally };
    }
    parts.push({ ...result, before, after: await settled() });
  };
  if (cycles > 0) {
    await part('pause/resume cycles', async () => {
      const r = await pauseResumeSoak(cycles, memoryMiB, fileCount);
      const p = (s: number[]) => (s.length ? `${percentile(s, 50).toFixed(0)}/${percentile(s, 95).toFixed(0)}` : '–');
      return { tally: r.tally, extra: `${memoryMiB} MiB, ${fileCount} files; pause p50/p95 ${p(r.pauseMs)} ms, resume + check ${p(r.resumeMs)} ms` };
    });
  }
  if (streams > 0 && streamMinutes > 0) {
    await part('streamed lines', async () => ({
      tally: await streamSoak(streams, streamMinutes),
      extra: `${streams} sandboxes × ${streamMinutes} min (≈ ${Math.round(streams * streamMinutes * 600)} lines at 10/s)`,
    }));
  }
  if (cloneRounds > 0) {
    await part('clone rounds', async () => ({ tally: await cloneSoak(cloneRounds, clonesPerRound), extra: `×${clonesPerRound} per round` }));
  }
  end = await serverUsage();
} finally {
  await disposeServer(server);
}

const fds = (u: ProcessUsage) => `${u.fds - u.clientConnections} + ${u.clientConnections} client conn.`;
const growth = (a: ServerUsage, b: ServerUsage) =>
  `RSS ${a.rssMiB.toFixed(1)} → ${b.rssMiB.toFixed(1)} MiB, heap used ${a.heapUsedMiB.toFixed(1)} → ${b.heapUsedMiB.toFixed(1)} MiB, fds ${fds(a)} → ${fds(b)}`;
console.log('\npart                 | done   | differences | errors | server');
for (const p of parts) {
  console.log(`${p.tally.name.padEnd(20)} | ${String(p.tally.done).padEnd(6)} | ${String(p.tally.differences).padEnd(11)} | ${String(p.tally.errors).padEnd(6)} | ${growth(p.before, p.after)}`);
  if (p.extra) console.log(`  ${p.extra}`);
  for (const d of p.tally.firstDifferences) console.log(`  difference: ${d}`);
  for (const e of p.tally.firstErrors) console.log(`  error: ${e}`);
}
const differences = parts.reduce((n, p) => n + p.tally.differences, 0);
const errors = parts.reduce((n, p) => n + p.tally.errors, 0);
console.log(`\nserver, start → end: ${growth(start, end)} (growth ${(end.rssMiB - start.rssMiB).toFixed(1)} MiB, ${end.fds - end.clientConnections - (start.fds - start.clientConnections)} fds besides client connections)`);
console.log(`differences: ${differences} (must be 0), errors: ${errors}`);
const file = writeResults('soak-', {
  settings: { cycles, memoryMiB, fileCount, streams, streamMinutes, cloneRounds, clonesPerRound },
  server: { start, end },
  parts: parts.map((p) => ({ name: p.tally.name, done: p.tally.done, differences: p.tally.differences, errors: p.tally.errors, firstDifferences: p.tally.firstDifferences, firstErrors: p.tally.firstErrors, before: p.before, after: p.after, extra: p.extra })),
});
console.log(`results written to ${file}`);
process.exitCode = differences + errors > 0 ? 1 : 0;
