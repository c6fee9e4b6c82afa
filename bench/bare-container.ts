// A container like a sandbox's but run bare by the benchmarks' floors: the same root filesystem
// and mounts, fresh namespaces from runc, none of the server's network set-up.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../src/config.js';
import { buildOciSpec } from '../src/runtime/runc/oci-spec.js';
import { prepareSandboxTools } from '../src/runtime/runc/sandbox-tools.js';
import { runCommand } from '../src/runtime/run-command.js';
import { templateLayers } from '../src/templates/rootfs-builder.js';

interface SpecShape {
  process: { args: string[] };
  mounts: Array<{ destination: string }>;
  linux: { namespaces: Array<{ type: string; path?: string }> };
}

export interface BareContainer {
  bundle: string;
  runc: string[];
  /** Unmounts and removes everything the container had. */
  remove(): Promise<void>;
}

export async function prepareBareContainer(config: Config, id: string, args: string[], memoryMB: number): Promise<BareContainer> {
  const bundle = path.join(config.dataDir, 'bench-bare', id);
  const rootfs = path.join(bundle, 'rootfs');
  const runc = ['--root', path.join(config.dataDir, 'bench-bare-runc'), '--criu', config.criuPath];
  await Promise.all(['upper', 'work', 'rootfs'].map((d) => mkdir(path.join(bundle, d), { recursive: true })));
  const spec = buildOciSpec({
    spec: { id, layers: [], cpuCount: 2, memoryMB, pidsLimit: 64, network: { index: 0, hostAddress: '', sandboxAddress: '', prefixLength: 30 } },
    netnsPath: '',
    toolsDir: (await prepareSandboxTools({ nodePath: config.nodePath, cacheDir: config.sandboxToolsCache })).dir,
    bundleDir: config.sandboxBundleDir,
  }) as SpecShape;
  spec.process.args = args;
  spec.mounts = spec.mounts.filter((m) => m.destination !== '/etc/resolv.conf');
  spec.linux.namespaces = spec.linux.namespaces.map((ns) => ({ type: ns.type }));
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
  await runCommand('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${templateLayers(config.templatesDir, 'base').join(':')},upperdir=${bundle}/upper,workdir=${bundle}/work`, rootfs]);
  return {
    bundle,
    runc,
    async remove() {
      await runCommand(config.runcPath, [...runc, 'delete', '--force', id]).catch(() => undefined);
      await runCommand('umount', [rootfs]);
      await rm(bundle, { recursive: true, force: true });
    },
  };
}
