// The floor for pause and resume: a bare container of the base root filesystem running the same
// Python process (holding N MiB), checkpointed and restored with `runc checkpoint|restore` and the
// same CRIU, without the server, envd or the SDK.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../src/config.js';
import { runCommand } from '../src/runtime/run-command.js';
import { prepareBareContainer } from './bare-container.js';
import { memoryHolderScript } from './memory-holder.js';

export async function bareCheckpointRestore(config: Config, mib: number): Promise<{ dumpMs: number; restoreMs: number }> {
  const id = `bare-criu-${mib}`;
  const c = await prepareBareContainer(config, id, ['/usr/bin/python3', '-c', memoryHolderScript(mib)], mib + 512);
  const image = path.join(c.bundle, 'image');
  try {
    await runCommand(config.runcPath, [...c.runc, 'run', '--detach', '--bundle', c.bundle, id], { quiet: true });
    const held = path.join(c.bundle, 'upper', 'tmp', 'held');
    for (let i = 0; i < 600 && !existsSync(held); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(held)) throw new Error(`the bare container's Python process never held ${mib} MiB`);
    let t0 = performance.now();
    await runCommand(config.runcPath, [...c.runc, 'checkpoint', '--image-path', image, '--work-path', path.join(c.bundle, 'dump-work'), id]);
    const dumpMs = performance.now() - t0;
    t0 = performance.now();
    await runCommand(config.runcPath, [...c.runc, 'restore', '--detach', '--image-path', image, '--work-path', path.join(c.bundle, 'restore-work'), '--bundle', c.bundle, id], { quiet: true });
    return { dumpMs, restoreMs: performance.now() - t0 };
  } finally {
    await c.remove();
  }
}
