// The floor for pause and resume: a bare container of the base root filesystem running the same
// Python process (holding N MiB), checkpointed and restored with `runc checkpoint|restore` and the
// same CRIU, without the server, envd or the SDK.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../src/config.js';
import { runCommand } from '../src/runtime/run-command.js';
import { syncFolder } from '../src/runtime/runc/checkpoint-layout.js';
import { criuEnv } from '../src/runtime/runc/criu-options.js';
import { prepareBareContainer } from './bare-container.js';
import { memoryHolderScript } from './memory-holder.js';

export interface BareMemoryHolder {
  /** One `runc checkpoint` then `runc restore` of the container, timed; the image is removed
   *  afterwards, as a resume discards its pause checkpoint. `syncedDumpMs` adds the fsync of the
   *  image's files, which a pause does before it answers (checkpoint-layout.ts). */
  round(): Promise<{ dumpMs: number; syncedDumpMs: number; restoreMs: number }>;
  /** Removes the container and everything it had. */
  remove(): Promise<void>;
}

/** A bare container whose Python process holds `mib` MiB, running once this resolves. */
export async function startBareMemoryHolder(config: Config, mib: number): Promise<BareMemoryHolder> {
  const id = `bare-criu-${mib}`;
  const c = await prepareBareContainer(config, id, ['/usr/bin/python3', '-c', memoryHolderScript(mib)], mib + 512);
  const image = path.join(c.bundle, 'image');
  const dumpWork = path.join(c.bundle, 'dump-work');
  const restoreWork = path.join(c.bundle, 'restore-work');
  try {
    await runCommand(config.runcPath, [...c.runc, 'run', '--detach', '--bundle', c.bundle, id], { quiet: true });
    const held = path.join(c.bundle, 'upper', 'tmp', 'held');
    for (let i = 0; i < 600 && !existsSync(held); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(held)) throw new Error(`the bare container's Python process never held ${mib} MiB`);
  } catch (err) {
    await c.remove();
    throw err;
  }
  return {
    async round() {
      let t0 = performance.now();
      await runCommand(config.runcPath, [...c.runc, 'checkpoint', '--image-path', image, '--work-path', dumpWork, id], { env: criuEnv });
      const dumpMs = performance.now() - t0;
      await syncFolder(image);
      const syncedDumpMs = performance.now() - t0;
      t0 = performance.now();
      await runCommand(config.runcPath, [...c.runc, 'restore', '--detach', '--image-path', image, '--work-path', restoreWork, '--bundle', c.bundle, id], { quiet: true, env: criuEnv });
      const restoreMs = performance.now() - t0;
      await Promise.all([image, dumpWork, restoreWork].map((d) => rm(d, { recursive: true, force: true })));
      return { dumpMs, syncedDumpMs, restoreMs };
    },
    remove: () => c.remove(),
  };
}

export async function bareCheckpointRestore(config: Config, mib: number): Promise<{ dumpMs: number; syncedDumpMs: number; restoreMs: number }> {
  const holder = await startBareMemoryHolder(config, mib);
  try {
    return await holder.round();
  } finally {
    await holder.remove();
  }
}
