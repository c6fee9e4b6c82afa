// The floor the create benchmark is compared with: mount an overlay of the same template, `runc
// run` (foreground) a container running `true` in fresh namespaces (timed), delete it, unmount.
import type { Config } from '../src/config.js';
import { runCommand } from '../src/runtime/run-command.js';
import { prepareBareContainer } from './bare-container.js';

export async function bareRuncRun(config: Config, id: string): Promise<number> {
  const t0 = performance.now();
  const c = await prepareBareContainer(config, id, ['/bin/true'], 256);
  try {
    await runCommand(config.runcPath, [...c.runc, 'run', '--bundle', c.bundle, id], { quiet: true });
    return performance.now() - t0;
  } finally {
    await c.remove();
  }
}
