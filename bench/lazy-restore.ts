// Cold resume with and without lazy restore (SANDCASTLE_LAZY_RESTORE), 100 MiB and 1 GiB held,
// each on its own server with user namespaces off (lazy restore needs that, or
// vm.unprivileged_userfaultfd=1). A pause right after a lazy resume waits until the memory is all
// copied in, so its row shows that wait too. Not part of `npm run bench`: run it alone with
// `node --import tsx bench/lazy-restore.ts`.
import { Sandbox } from 'novita-sandbox';
import { disposeServer, startServerProcess, useServer } from '../test/support/server-process.js';
import { holdMemory, timed } from './persistence.js';
import { percentile, printTable, type Row } from './stats.js';

const rounds = 10;

async function lazyRestoreRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mib of [100, 1024]) {
    for (const lazy of ['0', '1']) {
      const server = await startServerProcess({
        prepared: true,
        env: { SANDCASTLE_WARM_POOL: '0', SANDCASTLE_MEMORY_MB: '2048', SANDCASTLE_WARM_PAUSED_MAX: '0', SANDCASTLE_USERNS: '0', SANDCASTLE_LAZY_RESTORE: lazy },
      });
      const pauses: number[] = [];
      const resumes: number[] = [];
      const firsts: number[] = [];
      try {
        useServer(server);
        const sbx = await Sandbox.create({ timeoutMs: 900_000 });
        try {
          await holdMemory(sbx, mib);
          for (let i = 0; i < rounds; i++) {
            pauses.push(await timed(() => sbx.betaPause()));
            const t0 = performance.now();
            await sbx.connect();
            const t1 = performance.now();
            await sbx.commands.run('true');
            resumes.push(performance.now() - t0);
            firsts.push(performance.now() - t1);
          }
        } finally {
          await sbx.kill();
        }
      } finally {
        await disposeServer(server);
      }
      const p = (samples: number[]) => ({ p50: percentile(samples, 50), p95: percentile(samples, 95) });
      const label = `${mib} MiB, SANDCASTLE_LAZY_RESTORE=${lazy}, SANDCASTLE_USERNS=0 (${rounds} rounds)`;
      rows.push({ name: `resume → first command, cold, ${label}`, unit: 'ms', ...p(resumes) });
      rows.push({ name: `  of which the first command, ${label}`, unit: 'ms', ...p(firsts) });
      rows.push({ name: `pause (after a lazy resume it waits for the copy-in), ${label}`, unit: 'ms', ...p(pauses) });
    }
  }
  return rows;
}

printTable(await lazyRestoreRows());
