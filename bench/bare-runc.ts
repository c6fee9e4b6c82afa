// The floor the create benchmark is compared with: mount an overlay of the same template, `runc
// run` (foreground) a container running `true` in fresh namespaces, delete it, unmount.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../src/config.js';
import { buildOciSpec } from '../src/runtime/oci-spec.js';
import { runCommand } from '../src/runtime/run-command.js';
import { templateLayers } from '../src/templates/rootfs-builder.js';

export async function bareRuncRun(config: Config, templateId: string, id: string): Promise<number> {
  const bundle = path.join(config.dataDir, 'bench-floor', id);
  const rootfs = path.join(bundle, 'rootfs');
  await Promise.all(['upper', 'work', 'rootfs'].map((d) => mkdir(path.join(bundle, d), { recursive: true })));
  const spec = buildOciSpec({
    spec: { id, layers: [], cpuCount: 1, memoryMB: 256, pidsLimit: 64, network: { index: 0, hostAddress: '', sandboxAddress: '', prefixLength: 30 } },
    netnsPath: '',
    nodePath: config.nodePath,
    bundleDir: config.sandboxBundleDir,
  }) as { process: { args: string[] }; linux: { namespaces: Array<{ type: string; path?: string }> } };
  spec.process.args = ['/bin/true'];
  spec.linux.namespaces = spec.linux.namespaces.map((ns) => ({ type: ns.type }));
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
  const root = ['--root', path.join(config.dataDir, 'bench-floor-runc')];
  const t0 = performance.now();
  await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${templateLayers(config.templatesDir, templateId).join(':')},upperdir=${bundle}/upper,workdir=${bundle}/work`, rootfs]);
  try {
    await runCommand(config.runcPath, [...root, 'run', '--bundle', bundle, id], { quiet: true });
    return performance.now() - t0;
  } finally {
    await runCommand(config.runcPath, [...root, 'delete', '--force', id]).catch(() => undefined);
    await runCommand('umount', [rootfs]);
    await rm(bundle, { recursive: true, force: true });
  }
}
