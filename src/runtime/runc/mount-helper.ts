// The two mounts every new sandbox makes (its disk, its overlay root), done by a small static helper
// (mount-helper.c) instead of mount(8): ~5 ms each through the tool runner instead of ~21 ms for
// the disk (~33 ms with 300 loop devices attached) and ~8.5 ms for the overlay.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { installDir } from '../../config.js';
import { runCommand } from '../run-command.js';

/** Built by `npm run build` (scripts/build-host-helpers.mjs). */
const mountHelperPath = path.join(installDir, 'dist', 'host', 'sandcastle-mount');

function helper(): string {
  if (!existsSync(mountHelperPath)) throw new Error(`the mount helper ${mountHelperPath} is missing: build it with \`npm run build\` (scripts/setup-host.sh runs it)`);
  return mountHelperPath;
}

/** Attaches `image` to a free loop device, which goes again at the unmount, and mounts its ext4
 *  file system on `target` (noatime) with the file system's `options`. */
export async function mountDisk(image: string, target: string, options: string): Promise<void> {
  await runCommand(helper(), ['disk', image, target, options]);
}

/** Mounts an overlay on `target` with `options` (lowerdir=…,upperdir=…,workdir=…). */
export async function mountOverlay(target: string, options: string): Promise<void> {
  await runCommand(helper(), ['overlay', target, options]);
}
