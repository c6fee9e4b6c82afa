// Pause, resume, clone and fast-create figures of the persistence issue, measured through the SDK.
import { Sandbox as E2bSandbox } from 'e2b';
import { Sandbox } from 'novita-sandbox';
import { disposeServer, startServerProcess, useServer, type ServerProcess } from '../test/support/server-process.js';
import { memoryHolderScript } from './memory-holder.js';
import { percentile, type Row } from './stats.js';

const resumeRounds = 10;
const createRounds = 20;

/** A Python process holding `mib` MiB of random bytes (so nothing compresses or dedups), started
 *  in the background; resolves once the memory is resident. */
export async function holdMemory(sbx: Sandbox, mib: number): Promise<void> {
  await sbx.files.write('/tmp/hold.py', memoryHolderScript(mib));
  await sbx.commands.run('python3 /tmp/hold.py', { background: true, timeoutMs: 0 });
  for (let i = 0; i < 600 && !(await sbx.files.exists('/tmp/held')); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await sbx.files.exists('/tmp/held'))) throw new Error(`the sandbox's Python process never held ${mib} MiB`);
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function persistenceRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mib of [100, 1024]) {
    const sbx = await Sandbox.create({ timeoutMs: 600_000 });
    await holdMemory(sbx, mib);
    const pause = await timed(() => sbx.betaPause());
    const resume = await timed(async () => {
      await sbx.connect();
      await sbx.commands.run('true');
    });
    await sbx.kill();
    rows.push({ name: `pause, ${mib} MiB resident`, unit: 'ms', value: pause, target: mib === 1024 ? '≤ 1000 (1 s per GiB)' : undefined });
    rows.push({ name: `resume → first command, ${mib} MiB resident (once)`, unit: 'ms', value: resume });
  }

  const sbx = await Sandbox.create({ timeoutMs: 600_000 });
  await holdMemory(sbx, 100);
  const resumes: number[] = [];
  for (let i = 0; i < resumeRounds; i++) {
    await sbx.betaPause();
    resumes.push(await timed(async () => {
      await sbx.connect();
      await sbx.commands.run('true');
    }));
  }
  rows.push({ name: `resume → first command, 100 MiB (${resumeRounds} rounds)`, unit: 'ms', p50: percentile(resumes, 50), p95: percentile(resumes, 95), target: 'p50 ≤ 200' });

  let clones: Sandbox[] = [];
  const clone = await timed(async () => {
    clones = (await Sandbox.clone(sbx.sandboxId, { count: 4 })).sandboxes;
    await Promise.all(clones.map((c) => c.commands.run('true')));
  });
  await Promise.all(clones.map((s) => s.kill()));
  rows.push({ name: 'clone a running 100 MiB sandbox ×4, all answering', unit: 'ms', value: clone, target: '≤ 1500' });

  // e2b's fork (novita-sandbox has none): the same machinery as clone, each fork answered alone.
  let forks: E2bSandbox[] = [];
  const fork = await timed(async () => {
    const results = await E2bSandbox.fork(sbx.sandboxId, { count: 4 });
    forks = results.filter((r): r is E2bSandbox => r instanceof E2bSandbox);
    if (forks.length < results.length) throw new Error(`fork ×4: ${results.filter((r) => !(r instanceof E2bSandbox)).map(String).join('; ')}`);
    await Promise.all(forks.map((f) => f.commands.run('true')));
  });
  await Promise.all([...forks, sbx].map((s) => s.kill()));
  rows.push({ name: 'fork a running 100 MiB sandbox ×4, all answering', unit: 'ms', value: fork, target: `≤ ${Math.round(1.1 * clone)} (1.1 × clone ×4 above)` });
  return rows;
}

/** Create → first command with the warm pool off: what a create costs when the pool is empty (it
 *  restores the template's boot state). */
export async function createWithoutPoolRows(): Promise<Row[]> {
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess({ prepared: true, env: { SANDCASTLE_WARM_POOL: '0' } });
    useServer(server);
    const times: number[] = [];
    for (let i = 0; i < createRounds; i++) {
      let s: Sandbox | undefined;
      times.push(await timed(async () => {
        s = await Sandbox.create();
        await s.commands.run('true');
      }));
      await s!.kill();
    }
    return [{ name: 'create → first command, warm pool off (restores base\'s boot state)', unit: 'ms', p50: percentile(times, 50), p95: percentile(times, 95) }];
  } finally {
    if (server) await disposeServer(server);
  }
}
