// Warm pause figures through the SDK: resume → first command of a warm-paused sandbox holding
// 100 MiB and 1 GiB, beside its floor (a bare cgroup thaw of the same sandbox, `runc resume`, plus
// one commands.run('true')) and the cold resume of a server that pauses cold
// (SANDCASTLE_WARM_PAUSED_MAX=0), measured in the same run.
import { Sandbox } from 'novita-sandbox';
import { runCommand } from '../src/runtime/run-command.js';
import { disposeServer, startServerProcess, type ServerProcess, useServer } from '../test/support/server-process.js';
import { holdMemory, timed } from './persistence.js';
import { percentile, type Row } from './stats.js';

const rounds = 10;

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

/** The floor: the sandbox frozen with `runc pause` behind the server's back, then thawed with
 *  `runc resume` and asked for one command. */
async function thawFloor(server: ServerProcess, sbx: Sandbox): Promise<number[]> {
  const runc = [server.env.SANDCASTLE_RUNC ?? 'runc', '--root', server.env.SANDCASTLE_RUNC_ROOT!];
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await runCommand(runc[0]!, [...runc.slice(1), 'pause', sbx.sandboxId]);
    samples.push(await timed(async () => {
      await runCommand(runc[0]!, [...runc.slice(1), 'resume', sbx.sandboxId]);
      await sbx.commands.run('true');
    }));
  }
  return samples;
}

const p = (samples: number[]) => ({ p50: percentile(samples, 50), p95: percentile(samples, 95) });

async function withServer<T>(env: NodeJS.ProcessEnv, work: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startServerProcess({ env: { SANDCASTLE_WARM_POOL: '0', SANDCASTLE_MEMORY_MB: '2048', ...env } });
  try {
    useServer(server);
    return await work(server);
  } finally {
    await disposeServer(server);
  }
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
  await withServer({ SANDCASTLE_WARM_PAUSED_MAX: '0' }, async () => {
    const sbx = await Sandbox.create({ timeoutMs: 900_000 });
    try {
      await holdMemory(sbx, 100);
      const { pauses, resumes } = await pauseResumeRounds(sbx);
      rows.push({ name: `resume → first command, cold (SANDCASTLE_WARM_PAUSED_MAX=0), 100 MiB (${rounds} rounds)`, unit: 'ms', ...p(resumes) });
      rows.push({ name: 'pause, cold, 100 MiB', unit: 'ms', ...p(pauses) });
    } finally {
      await sbx.kill();
    }
  });
  return rows;
}

// `node --import tsx bench/warm-pause.ts` runs these rows alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./stats.js');
  printTable(await warmPauseRows());
}
