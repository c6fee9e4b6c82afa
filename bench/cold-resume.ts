// Cold pause and resume through the SDK beside their floors, round by round so that both see the
// same load on the machine: a sandbox holding 100 MiB on a server that pauses cold
// (SANDCASTLE_WARM_PAUSED_MAX=0), paused then resumed → first command; and a bare container
// running the same Python process, checkpointed then restored by runc with the same CRIU
// (bare-criu.ts). One round of each first, not counted (first use of the images' page cache).
import { Sandbox } from 'novita-sandbox';
import { loadConfig } from '../src/config.js';
import { disposeServer, startServerProcess, useServer } from '../test/support/server-process.js';
import { startBareMemoryHolder } from './bare-criu.js';
import { holdMemory, timed } from './persistence.js';
import { percentile, type Row } from './stats.js';

const rounds = 10;
const mib = 100;

export async function coldResumeRows(): Promise<Row[]> {
  const server = await startServerProcess({ prepared: true, env: { SANDCASTLE_WARM_POOL: '0', SANDCASTLE_MEMORY_MB: '2048', SANDCASTLE_WARM_PAUSED_MAX: '0' } });
  const pauses: number[] = [];
  const resumes: number[] = [];
  const connects: number[] = [];
  const firsts: number[] = [];
  const seconds: number[] = [];
  const dumps: number[] = [];
  const syncedDumps: number[] = [];
  const restores: number[] = [];
  try {
    useServer(server);
    const config = loadConfig({ dataDir: server.dataDir, templatesDir: server.env.SANDCASTLE_TEMPLATES_DIR });
    const sbx = await Sandbox.create({ timeoutMs: 900_000 });
    try {
      await holdMemory(sbx, mib);
      const bare = await startBareMemoryHolder(config, mib);
      try {
        for (let i = 0; i <= rounds; i++) {
          const pause = await timed(() => sbx.betaPause());
          const connect = await timed(() => sbx.connect());
          const first = await timed(() => sbx.commands.run('true'));
          const second = await timed(() => sbx.commands.run('true'));
          const floor = await bare.round();
          if (i === 0) continue;
          pauses.push(pause);
          resumes.push(connect + first);
          connects.push(connect);
          firsts.push(first);
          seconds.push(second);
          dumps.push(floor.dumpMs);
          syncedDumps.push(floor.syncedDumpMs);
          restores.push(floor.restoreMs);
        }
      } finally {
        await bare.remove();
      }
    } finally {
      await sbx.kill();
    }
  } finally {
    await disposeServer(server);
  }
  const ratio = (ours: number[], floor: number[]) => `${(percentile(ours, 50) / percentile(floor, 50)).toFixed(2)}× floor p50`;
  const p = (samples: number[]) => ({ p50: percentile(samples, 50), p95: percentile(samples, 95) });
  return [
    { name: `resume → first command, cold, ${mib} MiB (${rounds} rounds beside the floor)`, unit: 'ms', ...p(resumes), target: `p50 ≤ 1.1× floor: ${ratio(resumes, restores)}` },
    { name: `floor: bare runc restore, ${mib} MiB (same rounds)`, unit: 'ms', ...p(restores) },
    // Where the resume stands against its floor: the restore the connect waits for, and the first
    // command, which pays for its first touch of every page the restored envd uses (on this
    // machine's nested virtualisation, several µs a page; a thawed process does not pay it).
    { name: `resume, cold, ${mib} MiB: connect() alone (the restore)`, unit: 'ms', ...p(connects), target: ratio(connects, restores) },
    { name: `resume, cold, ${mib} MiB: the first command after it`, unit: 'ms', ...p(firsts) },
    { name: `resume, cold, ${mib} MiB: a second command, for comparison`, unit: 'ms', ...p(seconds) },
    { name: `pause, cold, ${mib} MiB (same rounds)`, unit: 'ms', ...p(pauses), target: `p50 ≤ 1.1× floor: ${ratio(pauses, dumps)}; ${ratio(pauses, syncedDumps)} synced` },
    { name: `floor: bare runc checkpoint, ${mib} MiB (same rounds)`, unit: 'ms', ...p(dumps) },
    // A pause answers once its checkpoint is on disk (a power loss keeps it); the bare dump does not sync.
    { name: `floor: bare runc checkpoint + fsync of its image, ${mib} MiB (same rounds)`, unit: 'ms', ...p(syncedDumps) },
  ];
}

// `node --import tsx bench/cold-resume.ts` runs these rows alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./stats.js');
  printTable(await coldResumeRows());
}
