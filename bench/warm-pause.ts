// Warm pause figures through the SDK: resume → first command of a warm-paused sandbox holding
// 100 MiB and 1 GiB, beside its floor (a bare cgroup thaw of the same sandbox, its freezer
// written, plus one commands.run('true')); cold ones are in cold-resume.ts, beside CRIU's floors.
// Then 200 sandboxes of 50 MiB paused warm with a memory floor they do not all fit above: how low
// available memory went, and resume → first command of the oldest (evicted, restored from disk)
// and the newest (thawed).
import os from 'node:os';
import { Sandbox } from 'novita-sandbox';
import { runCommand } from '../src/runtime/run-command.js';
import { disposeServer, startServerProcess, type ServerProcess, useServer } from '../test/support/server-process.js';
import { holdMemory, timed } from './persistence.js';
import { percentile, type Row } from './stats.js';
import { thawCgroup } from '../src/runtime/runc/cgroup-freezer.js';
import { detectCgroupLayout } from '../src/runtime/runc/cgroup-layout.js';

const rounds = 10;
const MiB = 1024 * 1024;
const manyPaused = 200;
const manyPausedMiB = 50;
/** Memory the many paused sandboxes may take from what the host has at the start: about a quarter
 *  of them fit above the floor. */
const manyPausedRoomMiB = 4096;
/** Sandboxes made at once: two cores. */
const manyPausedConcurrency = 4;
/** Oldest and newest paused sandboxes resumed. */
const resumedEachEnd = 10;

/** Pause then resume → first command, `rounds` times: the pause and resume samples. */
async function pauseResumeRounds(sbx: Sandbox): Promise<{ pauses: number[]; resumes: number[] }> {
  const pauses: number[] = [];
  const resumes: number[] = [];
  for (let i = 0; i < rounds; i++) {
    pauses.push(await timed(() => sbx.betaPause()));
    resumes.push(await timed(async () => {
      await sbx.connect();
      await sbx.commands.run('true');
    }));
  }
  return { pauses, resumes };
}

/** The floor: the sandbox frozen with `runc pause` behind the server's back, then thawed by a
 *  write to its cgroup's freezer and asked for one command. */
async function thawFloor(server: ServerProcess, sbx: Sandbox): Promise<number[]> {
  const runc = [server.env.SANDCASTLE_RUNC ?? 'runc', '--root', server.env.SANDCASTLE_RUNC_ROOT!];
  const layout = detectCgroupLayout();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await runCommand(runc[0]!, [...runc.slice(1), 'pause', sbx.sandboxId]);
    samples.push(await timed(async () => {
      await thawCgroup(layout, sbx.sandboxId);
      await sbx.commands.run('true');
    }));
  }
  return samples;
}

const p = (samples: number[]) => ({ p50: percentile(samples, 50), p95: percentile(samples, 95) });

async function withServer<T>(env: NodeJS.ProcessEnv, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startServerProcess({ prepared: true, env: { SANDCASTLE_WARM_POOL: '0', SANDCASTLE_MEMORY_MB: '2048', ...env } });
  try {
    useServer(server);
    return await work(server);
  } finally {
    await disposeServer(server);
  }
}

/** Runs `work` on each item, `concurrency` at a time. */
async function inPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** The server's sandboxes whose processes are frozen in memory (warm-paused), by runc. */
async function frozenIds(server: ServerProcess): Promise<Set<string>> {
  const out = await runCommand(server.env.SANDCASTLE_RUNC ?? 'runc', ['--root', server.env.SANDCASTLE_RUNC_ROOT!, 'list', '--format', 'json']);
  const containers = (JSON.parse(out) ?? []) as Array<{ id: string; status: string }>;
  return new Set(containers.filter((c) => c.status === 'paused').map((c) => c.id));
}

/** Available memory (MemAvailable) sampled every 50 ms: the lowest seen, and how long it was
 *  under `floor` bytes of how long it was watched. */
function watchMemory(floor: number): { stop(): { minBytes: number; underMs: number; watchedMs: number } } {
  let minBytes = os.freemem();
  let underMs = 0;
  const started = performance.now();
  let last = started;
  const timer = setInterval(() => {
    const now = performance.now();
    const available = os.freemem();
    minBytes = Math.min(minBytes, available);
    if (available < floor) underMs += now - last;
    last = now;
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return { minBytes, underMs, watchedMs: last - started };
    },
  };
}

/** 200 sandboxes holding 50 MiB each, paused warm, 4 at a time, under a memory floor set
 *  manyPausedRoomMiB below what is available at the start (SANDCASTLE_WARM_PAUSED_MAX out of the
 *  way, so memory alone decides); then the oldest and the newest resumed, newest first (a cold
 *  restore takes memory, which evicts more of the oldest warm ones). */
export async function manyPausedRows(): Promise<Row[]> {
  const floorMiB = Math.max(1024, Math.floor(os.freemem() / MiB) - manyPausedRoomMiB);
  return withServer({ SANDCASTLE_WARM_PAUSED_MAX: String(manyPaused), SANDCASTLE_WARM_PAUSED_MIN_FREE_MB: String(floorMiB) }, async (server) => {
    const paused: Sandbox[] = [];
    const made: Sandbox[] = [];
    const memory = watchMemory(floorMiB * MiB);
    try {
      await inPool(Array.from({ length: manyPaused }), manyPausedConcurrency, async () => {
        const sbx = await Sandbox.create({ timeoutMs: 900_000 });
        made.push(sbx);
        await holdMemory(sbx, manyPausedMiB);
        await sbx.betaPause();
        paused.push(sbx);
      });
      // The server checks the floor every second: let it settle.
      await new Promise((r) => setTimeout(r, 2000));
      const { minBytes, underMs, watchedMs } = memory.stop();
      const frozen = await frozenIds(server);
      const newest = paused.slice(-resumedEachEnd).reverse();
      const oldest = paused.slice(0, resumedEachEnd);
      const warmNewest = newest.filter((s) => frozen.has(s.sandboxId)).length;
      const coldOldest = oldest.filter((s) => !frozen.has(s.sandboxId)).length;
      const resumes = async (group: Sandbox[]) => {
        const samples: number[] = [];
        for (const sbx of group) {
          samples.push(await timed(async () => {
            await sbx.connect();
            await sbx.commands.run('true');
          }));
        }
        return samples;
      };
      const newestResumes = await resumes(newest);
      const oldestResumes = await resumes(oldest);
      const serverSaw = [...server.output().matchAll(/evicted \((\d+) MiB of memory available, under/g)].map((m) => Number(m[1]));
      // Named the same in every run (the floor depends on the host): the figures go to the targets.
      const label = `${manyPaused} warm pauses of ${manyPausedMiB} MiB, SANDCASTLE_WARM_PAUSED_MIN_FREE_MB = available at start − ${manyPausedRoomMiB}`;
      return [
        { name: `${label}: lowest MemAvailable seen (50 ms samples)`, unit: 'MiB', value: minBytes / MiB, target: `≥ floor ${floorMiB} (${Math.round(minBytes / MiB - floorMiB)}); under it ${Math.round(underMs)} ms of ${Math.round(watchedMs)} ms` },
        { name: `${label}: evictions; warm at the end`, unit: 'count', value: serverSaw.length, target: `${frozen.size} warm; the server's lowest reading ${serverSaw.length ? Math.min(...serverSaw) : '-'} MiB` },
        { name: `${label}: resume → first command, newest ${resumedEachEnd}`, unit: 'ms', ...p(newestResumes), target: `${warmNewest}/${resumedEachEnd} were warm` },
        { name: `${label}: resume → first command, oldest ${resumedEachEnd}`, unit: 'ms', ...p(oldestResumes), target: `${coldOldest}/${resumedEachEnd} were evicted` },
      ];
    } finally {
      memory.stop();
      // Gently, before the server's disposal kills the rest at once.
      await inPool(made, manyPausedConcurrency, (sbx) => sbx.kill().then(() => undefined));
    }
  });
}

export async function warmPauseRows(): Promise<Row[]> {
  const rows: Row[] = [];
  await withServer({}, async (server) => {
    for (const mib of [100, 1024]) {
      const sbx = await Sandbox.create({ timeoutMs: 900_000 });
      try {
        await holdMemory(sbx, mib);
        const floor = await thawFloor(server, sbx);
        const { pauses, resumes } = await pauseResumeRounds(sbx);
        const ratio = percentile(resumes, 50) / percentile(floor, 50);
        rows.push({ name: `resume → first command, warm, ${mib} MiB (${rounds} rounds)`, unit: 'ms', ...p(resumes), target: `p50 ≤ 15; ${ratio.toFixed(2)}× floor` });
        rows.push({ name: `floor: cgroup thaw + commands.run('true'), ${mib} MiB`, unit: 'ms', ...p(floor) });
        rows.push({ name: `pause (warm: checkpoint written, processes frozen), ${mib} MiB`, unit: 'ms', ...p(pauses) });
      } finally {
        await sbx.kill();
      }
    }
  });
  rows.push(...(await manyPausedRows()));
  return rows;
}

// `node --import tsx bench/warm-pause.ts` runs these rows alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./stats.js');
  printTable(await warmPauseRows());
}
