// Builds a template as an overlayfs layer over another template: mount the parent's layers
// read-only with an empty upper folder, run apt-get inside, and keep only the upper folder. The
// result goes in front of the parent's layers in the sandbox's lowerdir.
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../runtime/run-command.js';
import { CHROOT_ENV, CLEAN_ROOT_FUNCTION } from './rootfs-chroot.js';
import type { RootfsRecipe } from './rootfs-recipes.js';

/** Runs in a private mount and PID namespace (`unshare`), so the overlay, /proc and resolv.conf
 *  mounts vanish with the process even if the builder is killed halfway: nothing is left mounted
 *  on the host. Constant text; all paths and package names arrive as arguments.
 *  $1 lowerdir list, $2 upper, $3 work, $4 merged, then the packages. */
const LAYER_SCRIPT = `${CLEAN_ROOT_FUNCTION}
lower="$1"; upper="$2"; work="$3"; m="$4"; shift 4
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$m"
mount -t proc proc "$m/proc"
# apt inside needs the host's DNS; a bind mount (not a copy) leaves the layer's resolv.conf alone.
mount --bind /etc/resolv.conf "$m/etc/resolv.conf"
# No service may start inside the chroot during package installation.
printf '#!/bin/sh\\nexit 101\\n' > "$m/usr/sbin/policy-rc.d"
chmod 755 "$m/usr/sbin/policy-rc.d"
in_root() { chroot "$m" /usr/bin/env -i ${CHROOT_ENV.join(' ')} "$@"; }
in_root apt-get update -q
in_root apt-get install -y -q --no-install-recommends "$@"
in_root apt-get clean
rm -f "$m/usr/sbin/policy-rc.d"
clean_root "$m"
umount "$m/etc/resolv.conf" "$m/proc"
umount "$m"
`;

/** Fills the empty folder `upperDir` with what installing `recipe.packages` over `lowerDirs`
 *  (top first) changes. `scratchDir` must be an empty folder on the same file system. */
export async function buildAptLayer(
  upperDir: string,
  lowerDirs: readonly string[],
  recipe: RootfsRecipe,
  scratchDir: string,
  log: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  const work = path.join(scratchDir, 'work');
  const merged = path.join(scratchDir, 'merged');
  for (const d of [upperDir, work, merged]) await mkdir(d, { recursive: true });
  // The upper folder's own mode becomes the mode of the sandbox's "/".
  await chmod(upperDir, 0o755);
  if (lowerDirs.some((d) => d.includes(':') || d.includes(','))) {
    throw new Error(`layer paths may not contain ':' or ',' (overlayfs option syntax): ${lowerDirs.join(' ')}`);
  }
  await runCommand('unshare', [
    '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child',
    'sh', '-euc', LAYER_SCRIPT, 'sh',
    lowerDirs.join(':'), upperDir, work, merged,
    ...new Set(recipe.packages),
  ]);
  log(`apt-get install of ${recipe.packages.length} packages as a layer: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
