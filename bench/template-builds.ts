// Template figures of the "your own environments" issue, against a server of their own with the
// unmodified e2b SDK: a rebuild of an unchanged 6-step template (every layer cached), create →
// first command of a user template with a start command beside `base` (same run), and a first
// build FROM debian:bookworm (served by a loopback mirror holding the base root file system)
// with `apt-get install -y s3fs` (from Debian's archive, the one outside source allowed).
// Standalone: `node --import tsx bench/template-builds.ts`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Sandbox, Template, waitForPort } from 'e2b';
import { baseRootfsDir, pushRootfs, startRegistry } from '../test/support/oci-registry.js';
import { disposeServer, startServerProcess, useServer } from '../test/support/server-process.js';
import { percentile, type Row } from './stats.js';

const rebuilds = 5;
const creates = 20;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function createToFirstCommand(template: string): Promise<number> {
  const t0 = performance.now();
  const sbx = await Sandbox.create(template);
  await sbx.commands.run('true');
  const ms = performance.now() - t0;
  await sbx.kill();
  return ms;
}

export async function templateBuildRows(opts: { apt?: boolean } = {}): Promise<Row[]> {
  const rows: Row[] = [];
  const registry = await startRegistry();
  const context = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-bench-template-'));
  try {
    await pushRootfs(registry, 'library/debian:bookworm', baseRootfsDir());
    await writeFile(path.join(context, 'app.txt'), 'bench\n');
    const server = await startServerProcess({ prepared: true, env: { SANDCASTLE_REGISTRY_MIRRORS: registry.host, SANDCASTLE_INSECURE_REGISTRIES: registry.host } });
    useServer(server);
    try {
      const sixSteps = Template({ fileContextPath: context })
        .fromTemplate('base')
        .runCmd('echo one > /tmp/one')
        .copy('app.txt', '/home/user/app.txt')
        .setEnvs({ BENCH: '1' })
        .setWorkdir('/home/user')
        .runCmd('echo two > two.txt')
        .runCmd('echo three > three.txt')
        .setStartCmd('python3 -m http.server 8000', waitForPort(8000));
      const first = await timed(() => Template.build(sixSteps, 'bench-six'));
      rows.push({ name: 'template: first build of 6 steps from base (+ start command)', unit: 'ms', value: first });
      const again: number[] = [];
      for (let i = 0; i < rebuilds; i++) again.push(await timed(() => Template.build(sixSteps, 'bench-six')));
      rows.push({ name: `template: rebuild of the unchanged 6 steps (${rebuilds}×, all cached)`, unit: 'ms', p50: percentile(again, 50), p95: percentile(again, 95), target: '≤ 1000' });

      await createToFirstCommand('base');
      await createToFirstCommand('bench-six');
      const base: number[] = [];
      const user: number[] = [];
      for (let i = 0; i < creates; i++) {
        base.push(await createToFirstCommand('base'));
        user.push(await createToFirstCommand('bench-six'));
      }
      rows.push({ name: `template: create → first command, base (${creates}, alternating)`, unit: 'ms', p50: percentile(base, 50), p95: percentile(base, 95) });
      const ratio = percentile(user, 50) / percentile(base, 50);
      rows.push({ name: 'template: create → first command, user template with a start command', unit: 'ms', p50: percentile(user, 50), p95: percentile(user, 95), target: `p50 ≤ 1.2× base (${ratio.toFixed(2)}×)` });

      if (opts.apt !== false) {
        const s3fs = Template().fromImage('debian:bookworm').aptInstall(['s3fs']);
        const ms = await timed(() => Template.build(s3fs, 'bench-s3fs', { skipCache: true }));
        rows.push({ name: 'template: first build FROM debian:bookworm + apt-get install -y s3fs', unit: 'ms', value: ms, target: 'report' });
      }
    } finally {
      await disposeServer(server);
    }
  } finally {
    await Promise.all([registry.stop(), rm(context, { recursive: true, force: true })]);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { printTable } = await import('./stats.js');
  const { writeResults } = await import('./results-file.js');
  const rows = await templateBuildRows({ apt: process.env.BENCH_APT !== '0' });
  printTable(rows);
  console.log(`\nresults written to ${writeResults('template-builds-', { rows })}`);
}
