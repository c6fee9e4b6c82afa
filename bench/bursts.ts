// Bursts of creates and kills (issue 9): many concurrent `Sandbox.create()` → first command, a
// create batch with few vs many sandboxes live, and killing many at once, through the real SDK.
// Counts come from the environment (BENCH_BURST_CREATES, BENCH_LIVE_LOW, BENCH_LIVE_HIGH,
// BENCH_BATCH, BENCH_BATCH_ROUNDS) so a short run is possible.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Sandbox } from 'novita-sandbox';
import type { Config } from '../src/config.js';
import { bareRuncBurst } from './bare-runc.js';
import { envNumber } from './env-number.js';
import { createMany, killAll, listSandboxIds } from './fleet.js';
import { cpuTicks, machineBusyMs, percentile, type Row, sandboxesCpuMs, ticksPerSecond } from './stats.js';

// Long enough that the first fill outlives the whole section.
const liveTimeoutMs = 1_800_000;
// Pool refill and the previous kills settle before a batch, so both batches start alike.
const settleMs = 3000;
// Filling up to many live sandboxes leaves their disks' writes to the kernel's writeback, which
// would otherwise run during the next batch (measured here: the first batch after the fill 2.5-2.8 s,
// the next ones 2.2 s): a batch waits until little is left to write, at most this long.
const writebackSettleMs = 60_000;
const writebackLeftKiB = 8192;

interface Burst {
  wallMs: number;
  /** Per sandbox, from the common start to its first command's answer. */
  latencies: number[];
  failures: string[];
  /** CPU the whole machine spent meanwhile, in ms. */
  busyMs: number;
  /** Of that, the sandboxes' cgroups and the server process. */
  sandboxesMs: number;
  serverMs: number;
}

/** `count` concurrent creates, each followed by its first command; every sandbox made is killed
 *  before this resolves. */
async function burst(count: number, serverPid: number): Promise<Burst> {
  const made: Sandbox[] = [];
  const serverCpuMs = () => (cpuTicks(serverPid) * 1000) / ticksPerSecond;
  const [busy0, sandboxes0, server0] = [machineBusyMs(), sandboxesCpuMs(), serverCpuMs()];
  const t0 = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: count }, async () => {
      const sbx = await Sandbox.create();
      made.push(sbx);
      await sbx.commands.run('true');
      return performance.now() - t0;
    }),
  );
  const wallMs = performance.now() - t0;
  const busyMs = machineBusyMs() - busy0;
  const sandboxesMs = sandboxesCpuMs() - sandboxes0;
  const serverMs = serverCpuMs() - server0;
  await Promise.allSettled(made.map((s) => s.kill()));
  const latencies: number[] = [];
  const failures: string[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') latencies.push(r.value);
    else failures.push(r.reason instanceof Error ? r.reason.message : String(r.reason));
  }
  return { wallMs, latencies, failures, busyMs, sandboxesMs, serverMs };
}

/** Distinct failure messages, the first few, for the table. */
function firstFailures(failures: string[]): string {
  return [...new Set(failures)].slice(0, 3).join(' | ');
}

/** Dirty and under-writeback memory, from /proc/meminfo. */
function unwrittenKiB(): number {
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? 0);
  return kib('Dirty') + kib('Writeback');
}

async function writebackSettled(): Promise<void> {
  const deadline = performance.now() + writebackSettleMs;
  while (unwrittenKiB() > writebackLeftKiB && performance.now() < deadline) await new Promise((r) => setTimeout(r, 500));
}

/** Median wall time of `rounds` batches of `size` with whatever is live now, and the failures
 *  of all of them (a batch with failures is not comparable, so they are printed beside it); and,
 *  round by round beside them, the median wall time of as many bare `runc run`s at once (what the
 *  live sandboxes cost a container start that is not ours). */
async function batchWall(size: number, rounds: number, serverPid: number, config: Config): Promise<{ wallMs: number; floorMs: number; failures: string[] }> {
  const walls: number[] = [];
  const floors: number[] = [];
  const failures: string[] = [];
  for (let i = 0; i < rounds; i++) {
    await new Promise((r) => setTimeout(r, settleMs));
    await writebackSettled();
    const b = await burst(size, serverPid);
    walls.push(b.wallMs);
    failures.push(...b.failures);
    await new Promise((r) => setTimeout(r, settleMs));
    await writebackSettled();
    floors.push(Math.max(...(await bareRuncBurst(config, size)).latencies));
  }
  return { wallMs: percentile(walls, 50), floorMs: percentile(floors, 50), failures };
}

const failuresNote = (failures: string[]) => (failures.length ? `${failures.length} failed: ${firstFailures(failures)}` : '');

/** The burst rows; `config` is the server's, for the floor's bare containers. */
export async function burstRows(serverPid: number, config: Config): Promise<Row[]> {
  const burstCreates = envNumber('BENCH_BURST_CREATES', 50);
  const liveLow = envNumber('BENCH_LIVE_LOW', 20);
  const liveHigh = envNumber('BENCH_LIVE_HIGH', 300);
  const batchSize = envNumber('BENCH_BATCH', 20);
  const batchRounds = envNumber('BENCH_BATCH_ROUNDS', 3);
  const rows: Row[] = [];
  try {
    const b = await burst(burstCreates, serverPid);
    const p95 = b.latencies.length ? percentile(b.latencies, 95) : undefined;
    rows.push({
      name: `create → first command, ${burstCreates} at once: ${b.latencies.length} ok, ${b.failures.length} failed`,
      unit: 'ms',
      p50: b.latencies.length ? percentile(b.latencies, 50) : undefined,
      p95,
      value: b.latencies.length ? Math.max(...b.latencies) : undefined,
      target: `all succeed, p95 ≤ 2500 (value = max)${b.failures.length ? `; ${failuresNote(b.failures)}` : ''}`,
    });
    rows.push({ name: `create → first command, ${burstCreates} at once (all done)`, unit: 'ms', value: b.wallMs });
    // Where a CPU-bound burst's time goes: while every core is busy, the last of N creates cannot
    // answer before N × (CPU a create takes) / cores.
    const cores = os.availableParallelism();
    rows.push({
      name: `machine CPU per create → first command in that burst (server, tools, sandboxes, client)`,
      unit: 'ms',
      value: b.busyMs / burstCreates,
      target: `${burstCreates} × that / ${cores} cores = ${(b.busyMs / cores / 1000).toFixed(1)} s; busy ${Math.round((100 * b.busyMs) / (cores * b.wallMs))}% of the burst`,
    });
    // The same split three ways: what runs in the sandboxes (envd, the restore CRIU does inside
    // the restored tasks, the first command), the server process, and the rest (runc, CRIU's own
    // process, ip, nft, the tool launcher, the client, the kernel's threads).
    const perCreate = (ms: number) => Math.round(ms / burstCreates);
    rows.push({
      name: 'of which: sandboxes / server / rest, per create',
      unit: 'ms',
      value: perCreate(b.sandboxesMs),
      target: `${perCreate(b.sandboxesMs)} / ${perCreate(b.serverMs)} / ${perCreate(b.busyMs - b.sandboxesMs - b.serverMs)}`,
    });

    // Its floor: as many bare `runc run`s of the same root filesystem at once, each running
    // `true` (no network, no envd, no command), once the burst's kills have settled.
    await new Promise((r) => setTimeout(r, settleMs));
    await writebackSettled();
    const floor = await bareRuncBurst(config, burstCreates);
    rows.push({
      name: `floor: ${burstCreates} bare \`runc run\` of the base rootfs running true, at once`,
      unit: 'ms',
      p50: percentile(floor.latencies, 50),
      p95: percentile(floor.latencies, 95),
      target: `machine CPU per run ${Math.round(floor.busyMs / burstCreates)} ms; the burst's p95 ${p95 === undefined ? '?' : (p95 / percentile(floor.latencies, 95)).toFixed(2)}× this p95`,
    });

    const live = await createMany(liveLow, liveTimeoutMs);
    const low = await batchWall(batchSize, batchRounds, serverPid, config);
    live.push(...(await createMany(liveHigh - live.length, liveTimeoutMs)));
    const high = await batchWall(batchSize, batchRounds, serverPid, config);
    rows.push({ name: `${batchSize} creates → first command, ${liveLow} live (median of ${batchRounds})`, unit: 'ms', value: low.wallMs, target: failuresNote(low.failures) });
    rows.push({ name: `${batchSize} creates → first command, ${liveHigh} live (median of ${batchRounds})`, unit: 'ms', value: high.wallMs, target: failuresNote(high.failures) });
    rows.push({ name: `ratio: ${liveHigh} live / ${liveLow} live`, unit: '×', value: high.wallMs / low.wallMs, target: '≤ 1.15' });
    rows.push({ name: `floor: ${batchSize} bare \`runc run\`s at once, ${liveLow} live (same rounds)`, unit: 'ms', value: low.floorMs });
    rows.push({ name: `floor: ${batchSize} bare \`runc run\`s at once, ${liveHigh} live (same rounds)`, unit: 'ms', value: high.floorMs });
    rows.push({ name: `floor ratio: ${liveHigh} live / ${liveLow} live`, unit: '×', value: high.floorMs / low.floorMs, target: 'what the live sandboxes cost runc alone' });

    const t0 = performance.now();
    const killed = await Promise.allSettled(live.map((s) => Sandbox.kill(s.sandboxId)));
    const killMs = performance.now() - t0;
    const failed = killed.filter((k) => k.status === 'rejected').length;
    const left = (await listSandboxIds()).length;
    rows.push({ name: `kill ${live.length} sandboxes at once (all answered)`, unit: 's', value: killMs / 1000, target: `≤ 10; ${failed} failed, ${left} still listed` });
  } finally {
    await killAll();
  }
  return rows;
}
