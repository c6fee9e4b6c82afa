// Image layers unpacked for overlayfs, one read-only folder per layer named by the layer's
// digest, so every image that has a layer shares its folder and it is unpacked once. A layer is
// unpacked into a hidden temporary folder and renamed into place when complete: a folder with
// the final name is always a whole layer, whatever crashed when.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { type IdMapping, mappingTag } from '../../runtime/id-mapping.js';
import { shiftOwnership } from '../shift-ownership.js';
import type { Compression } from './manifest.js';
import { runTool } from './run-tool.js';
import { convertWhiteouts } from './whiteouts.js';

export interface LayerBlob {
  digest: string;
  compression: Compression;
  /** The compressed archive (a blob of the images' OCI layout). */
  file: string;
  size: number;
}

const PARTIAL = '.partial-';

/** `oci-sha256-<hex>`: the folder of the layer with this digest; `…-userns-<base>-<size>` when its
 *  owners are shifted into a user-namespace mapping. */
export function layerFolderName(digest: string, userns?: IdMapping): string {
  return `oci-${digest.replace(':', '-')}${userns ? `-${mappingTag(userns)}` : ''}`;
}

const COMPRESSION_FLAGS: Record<Compression, string[]> = { none: [], gzip: ['--gzip'], zstd: ['--zstd'] };

/** GNU tar as root keeps owners (by number, never mapped through the host's /etc/passwd), modes,
 *  device nodes, hard links and symlinks. Image xattrs are kept except trusted.* (an image must
 *  not set overlayfs' own marks) and SELinux labels (the host's policy decides those). */
function tarArgs(layer: LayerBlob, dir: string): string[] {
  return [
    '--extract', `--file=${layer.file}`, `--directory=${dir}`, ...COMPRESSION_FLAGS[layer.compression],
    '--numeric-owner', '--same-owner', '--same-permissions',
    '--xattrs', '--xattrs-include=*', '--xattrs-exclude=trusted.*', '--xattrs-exclude=security.selinux',
    '--warning=no-timestamp', '--warning=no-unknown-keyword',
  ];
}

/** Unpacks of this process in flight, by folder: a second caller waits for the first. */
const inFlight = new Map<string, Promise<void>>();

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export interface EnsureOptions {
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Sandboxes run in a user namespace of this mapping: owners are shifted into it once, when
   *  the layer is unpacked. */
  userns?: IdMapping;
}

/** The folder of `layer` under `layersDir`, unpacked now unless it already is. */
export async function ensureLayer(layersDir: string, layer: LayerBlob, opts: EnsureOptions): Promise<string> {
  const folder = path.join(layersDir, layerFolderName(layer.digest, opts.userns));
  for (;;) {
    let pending = inFlight.get(folder);
    const ours = !pending;
    if (!pending) {
      pending = unpackOnce(layersDir, folder, layer, opts).finally(() => inFlight.delete(folder));
      inFlight.set(folder, pending);
    }
    try {
      await pending;
      return folder;
    } catch (e) {
      // The pull we waited for was cancelled, not ours: unpack it ourselves.
      if (ours || opts.signal?.aborted || (e as Error).name !== 'AbortError') throw e;
    }
  }
}

async function unpackOnce(layersDir: string, folder: string, layer: LayerBlob, opts: EnsureOptions): Promise<void> {
  const short = layer.digest.slice(0, 19);
  if (await isDir(folder)) {
    opts.log(`layer ${short} already unpacked`);
    return;
  }
  const started = Date.now();
  await mkdir(layersDir, { recursive: true });
  const partial = path.join(layersDir, `${PARTIAL}${process.pid}-${randomBytes(4).toString('hex')}-${path.basename(folder)}`);
  try {
    await mkdir(partial);
    // The top layer's root folder gives the sandbox's "/" its mode; an archive without a "./"
    // entry must not leave mkdir's default there.
    await chmod(partial, 0o755);
    await runTool('tar', tarArgs(layer, partial), { signal: opts.signal });
    const whiteouts = await convertWhiteouts(partial, opts.signal);
    if (opts.userns) await shiftOwnership(partial, opts.userns);
    // Written data reaches the disk before the rename does: after a power cut a folder with the
    // final name must not hold empty files.
    await runTool('sync', ['--file-system', partial], { signal: opts.signal });
    try {
      await rename(partial, folder);
    } catch (e) {
      // Another process finished the same layer first: its folder is as good as ours.
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !(await isDir(folder))) throw e;
      await rm(partial, { recursive: true, force: true });
    }
    const mb = (layer.size / 1e6).toFixed(1);
    opts.log(`layer ${short} unpacked (${mb} MB ${layer.compression}${whiteouts ? `, ${whiteouts} whiteouts` : ''}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    if (opts.signal?.aborted) throw e;
    throw new Error(`unpacking layer ${layer.digest} failed: ${(e as Error).message}`, { cause: e });
  }
}

/** Removes temporary folders left by unpacks of processes that no longer run (a crash). */
export async function removeStalePartials(layersDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(layersDir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^\.partial-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || processRuns(pid)) continue;
    await rm(path.join(layersDir, name), { recursive: true, force: true });
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
