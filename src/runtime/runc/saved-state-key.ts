// What a template's saved boot state depends on: the root filesystem layers, the programs mounted
// into it (the tools folder of sandbox-tools.ts: tini, node and node's loader and libraries; the
// in-sandbox bundle), the first process's command line (envd's flags, the start command), the
// process's security settings, how the root is mounted (inode numbers a restore checks against)
// and the CRIU build. When any of them changes, a saved state restores processes that no longer
// match their files or flags, so it is retaken.
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

async function fingerprint(file: string): Promise<string> {
  const s = await stat(file);
  return `${file}:${s.ino}:${s.size}:${s.mtimeMs}`;
}

/** A layer folder is made whole elsewhere and renamed into place, and never changed after: it is
 *  the same layer while it is the same folder (inode and birth time). Its modification time is
 *  the layer cache's last use (layer-cache.ts), which a rebuild whose steps were all cached moves:
 *  counted, it made that rebuild save the template's boot state again (about a second). */
async function layerFingerprint(layer: string): Promise<string> {
  const s = await stat(layer);
  return `${layer}:${s.ino}:${s.birthtimeMs}`;
}

async function folderFingerprint(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort();
  return Promise.all(files.map(fingerprint));
}

export async function savedStateKey(inputs: {
  layers: string[];
  /** The sandbox's first process with its arguments (envd's flags, the start command). */
  initArgs: string[];
  /** Content hash of the tools folder (SandboxTools.key). */
  toolsKey: string;
  bundleDir: string;
  criuPath: string;
  processSecurity: string;
  /** The root overlay's options besides its folders. */
  rootMount: string;
}): Promise<string> {
  const parts = [
    ...(await Promise.all(inputs.layers.map(layerFingerprint))),
    `tools:${inputs.toolsKey}`,
    await fingerprint(inputs.criuPath),
    ...(await folderFingerprint(inputs.bundleDir)),
    `init:${JSON.stringify(inputs.initArgs)}`,
    `process:${inputs.processSecurity}`,
    `root:${inputs.rootMount}`,
  ];
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}
