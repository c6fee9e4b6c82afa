// `npm run bench`: the latencies and memory the issues name, measured against the real server
// with the real SDK, beside the floor (a bare `runc run` of the same root filesystem) measured in
// the same run. Prints a table and writes JSON to bench/results/.
import { Sandbox } from 'novita-sandbox';
import { loadConfig } from '../src/config.js';
import { envdPort } from '../src/protocol.js';
import { sandboxAddress } from '../test/support/sandbox-network.js';
import { disposeServer, startServerProcess, useServer } from '../test/support/server-process.js';
import { bareCheckpointRestore } from './bare-criu.js';
import { bareRuncRun } from './bare-runc.js';
import { imagePullRows } from './image-pull-rows.js';
import { templateBuildRows } from './template-builds.js';
import { burstRows } from './bursts.js';
import { journalCostRows } from './journal-cost.js';
import { firewallUpdateRows } from './firewall-update.js';
import { pageCacheWriteMs } from './page-cache-write.js';
import { createWithoutPoolRows, persistenceRows, timed } from './persistence.js';
import { publicUrlRows } from './proxy-throughput.js';
import { samplerCost } from './sampler-cost.js';
import { codeInterpreterRows } from './code-interpreter.js';
import { neighbourRows, wallCostRows } from './containment.js';
import { sandboxMemory } from './sandbox-memory.js';
import { writeResults } from './results-file.js';
import { metricsScrapeRows } from './metrics-scrape.js';
import { volumeWriteRows } from './volumes.js';
import { consoleLoadRows } from './console-load.js';
import { warmPauseRows } from './warm-pause.js';
import { coldResumeRows } from './cold-resume.js';
import { percentile, type Row, printTable } from './stats.js';

const sequentialCreates = 20;
const concurrentCreates = 10;
const roundTrips = 100;
const floorRuns = 20;
const wrkSeconds = 3;
const wrkRounds = 5;
const samplerSandboxes = 100;

// Ports 80 and 443 for the public-URL rows (the bench runs alone on the machine, as the tests do); room
// for a 1 GiB process in a sandbox for the pause rows, which are of cold pauses (warm-pause.ts has
// the warm ones).
const server = await startServerProcess({ prepared: true, env: { SANDCASTLE_HTTP_PORT: '80', SANDCASTLE_HTTPS_PORT: '443', SANDCASTLE_MEMORY_MB: '2048', SANDCASTLE_WARM_PAUSED_MAX: '0' } });
useServer(server);
const rows: Row[] = [];
try {
  // Warm-up, so the first sample does not pay for cold page cache and JIT.
  await (await Sandbox.create()).kill();

  const createToFirst: number[] = [];
  for (let i = 0; i < sequentialCreates; i++) {
    const t0 = performance.now();
    const sbx = await Sandbox.create();
    await sbx.commands.run('true');
    createToFirst.push(performance.now() - t0);
    await sbx.kill();
  }
  rows.push({ name: 'create → first command (20 in a row, warm pool)', unit: 'ms', p50: percentile(createToFirst, 50), p95: percentile(createToFirst, 95), target: 'p50 ≤ 100, p95 ≤ 200' });

  const t0 = performance.now();
  const batch = await Promise.all(
    Array.from({ length: concurrentCreates }, async () => {
      const sbx = await Sandbox.create();
      await sbx.commands.run('true');
      return sbx;
    }),
  );
  const concurrentWall = performance.now() - t0;
  await Promise.all(batch.map((s) => s.kill()));
  rows.push({ name: `create → first command, ${concurrentCreates} at once (all done)`, unit: 'ms', value: concurrentWall, target: '≤ 2000' });

  const sbx = await Sandbox.create();
  // Beside each call through the API port (HAProxy relays it when it holds the port), its floor:
  // the same call with the SDK pointed straight at envd's address in the sandbox.
  const direct = await Sandbox.connect(sbx.sandboxId, { sandboxUrl: `http://${sandboxAddress(sbx.sandboxId)}:${envdPort}` });
  const trips: number[] = [];
  const directTrips: number[] = [];
  for (let i = 0; i < roundTrips; i++) {
    trips.push(await timed(() => sbx.commands.run('true')));
    directTrips.push(await timed(() => direct.commands.run('true')));
  }
  rows.push({ name: "commands.run('true') round trip", unit: 'ms', p50: percentile(trips, 50), p95: percentile(trips, 95), target: 'p50 ≤ 10' });
  rows.push({ name: "floor: commands.run('true') straight to envd", unit: 'ms', p50: percentile(directTrips, 50), p95: percentile(directTrips, 95) });
  // File calls read each entry's metadata (extended attributes) too.
  const stats: number[] = [];
  const directStats: number[] = [];
  const lists: number[] = [];
  for (let i = 0; i < roundTrips; i++) {
    stats.push(await timed(() => sbx.files.exists('/home/user')));
    directStats.push(await timed(() => direct.files.exists('/home/user')));
    lists.push(await timed(() => sbx.files.list('/etc')));
  }
  rows.push({ name: "files.exists('/home/user') round trip", unit: 'ms', p50: percentile(stats, 50), p95: percentile(stats, 95) });
  rows.push({ name: "floor: files.exists('/home/user') straight to envd", unit: 'ms', p50: percentile(directStats, 50), p95: percentile(directStats, 95) });
  rows.push({ name: "files.list('/etc') round trip", unit: 'ms', p50: percentile(lists, 50), p95: percentile(lists, 95) });

  await new Promise((r) => setTimeout(r, 2000));
  const mem = await sandboxMemory(sbx.sandboxId);
  rows.push({ name: 'idle sandbox memory: cgroup usage − inactive file', unit: 'MiB', value: mem.workingSetMiB, target: '≤ 60' });
  rows.push({ name: 'idle sandbox memory: PSS of its processes', unit: 'MiB', value: mem.pssMiB });
  await sbx.kill();

  // One sandbox's servers reached directly, by public URL and by the API port (wrk, 50
  // connections, 3 s each, five interleaved rounds, medians).
  rows.push(...(await publicUrlRows(server, { seconds: wrkSeconds, rounds: wrkRounds })));

  const sampler = await samplerCost(server.child.pid!, samplerSandboxes, 10);
  rows.push({ name: `server CPU with ${sampler.created} idle sandboxes (≈ metrics sampler)`, unit: '% core', value: sampler.cpuPct, target: '≤ 2' });

  rows.push(...(await codeInterpreterRows()));
  rows.push(...(await persistenceRows()));
  const config = loadConfig({ dataDir: server.dataDir, templatesDir: server.env.SANDCASTLE_TEMPLATES_DIR });
  rows.push(...(await burstRows(server.child.pid!, config)));
  rows.push(...journalCostRows(server.dataDir));
  rows.push(...(await firewallUpdateRows()));

  const floor: number[] = [];
  for (let i = 0; i < floorRuns; i++) floor.push(await bareRuncRun(config, `floor${i}`));
  const floorP50 = percentile(floor, 50);
  rows.push({ name: 'floor: bare `runc run` of the base rootfs running true', unit: 'ms', p50: floorP50, p95: percentile(floor, 95) });
  rows.push({ name: 'ratio: create → first command p50 / floor p50', unit: '×', value: percentile(createToFirst, 50) / floorP50 });
  for (const mib of [100, 1024]) {
    const bare = await bareCheckpointRestore(config, mib);
    const ours = rows.find((r) => r.name === `pause, ${mib} MiB resident`)?.value;
    rows.push({ name: `floor: bare runc checkpoint / restore, ${mib} MiB`, unit: 'ms', value: bare.dumpMs, target: `restore ${bare.restoreMs.toFixed(0)}; pause/floor ${ours ? (ours / bare.dumpMs).toFixed(2) : '?'}×, ${ours ? (ours / bare.syncedDumpMs).toFixed(2) : '?'}× with its image synced (${bare.syncedDumpMs.toFixed(0)} ms)` });
  }
  rows.push({ name: 'floor: 1 GiB written into new page cache (dd), this machine', unit: 'ms', value: await pageCacheWriteMs(server.dataDir, 1024) });
} finally {
  await disposeServer(server);
}
// Each of these starts what it measures on its own: one that fails is a row saying why, and the
// others still run.
const sections: Array<[string, () => Promise<Row[]>]> = [
  ['create without the pool', createWithoutPoolRows],
  ['/metrics scrape', metricsScrapeRows],
  ['volume writes', volumeWriteRows],
  ['warm pause', warmPauseRows],
  ['cold resume', coldResumeRows],
  ['the walls\' cost', wallCostRows],
  ['neighbours under abuse', neighbourRows],
  ['image pulls', imagePullRows],
  ['template builds', templateBuildRows],
  ['console load', consoleLoadRows],
];
for (const [name, section] of sections) {
  try {
    rows.push(...(await section()));
  } catch (err) {
    console.error(`bench section '${name}' failed:`, err);
    rows.push({ name: `${name}: FAILED`, unit: '', target: (err as Error).message.slice(0, 120) });
  }
}

printTable(rows);
console.log(`\nresults written to ${writeResults('', { rows })}`);
