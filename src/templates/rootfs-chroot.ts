// Running programs inside a template root with a clean, predictable environment, and the clean-up
// that keeps a built root small. Shared by the full-root and the layer builder.
import { runCommand } from '../runtime/run-command.js';

/** The host's environment (locale, proxies, PATH) must not leak into package scripts that run in
 *  the new root: a locale the root lacks makes perl and python warn on every call. */
export const CHROOT_ENV = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'LANG=C.UTF-8',
  'DEBIAN_FRONTEND=noninteractive',
  'HOME=/root',
];

/** Runs `argv` inside `root` via chroot, with CHROOT_ENV only. */
export function runInRoot(root: string, argv: string[]): Promise<string> {
  return runCommand('chroot', [root, '/usr/bin/env', '-i', ...CHROOT_ENV, ...argv]);
}

/** Shell function `clean_root DIR`: deletes apt's package lists and caches and the install logs.
 *  It deletes files only and keeps the folders (lists/partial, archives/partial), so a layer built
 *  over a cleaned root with the same clean-up deletes only files it created itself, which leaves
 *  no overlayfs whiteouts in the layer. Constant text; the folder comes in as an argument. */
export const CLEAN_ROOT_FUNCTION = `
clean_root() {
  for d in var/lib/apt/lists var/cache/apt var/log; do
    if [ -d "$1/$d" ]; then find "$1/$d" -xdev -type f -delete; fi
  done
  rm -rf "$1/tmp/"* "$1/var/tmp/"* "$1/root/.cache"
}
`;

export async function cleanRoot(root: string): Promise<void> {
  await runCommand('sh', ['-euc', `${CLEAN_ROOT_FUNCTION}\nclean_root "$1"`, 'sh', root]);
}
