// Builds a complete Debian root filesystem with debootstrap and sets it up the way every sandbox
// expects: user `user` with password-less sudo, root at /root, localhost in /etc/hosts, login
// shells that start no process, the /opt/sandcastle mount point, and no apt caches.
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../runtime/run-command.js';
import { quickenLoginShells } from './login-profile.js';
import { cleanRoot, runInRoot } from './rootfs-chroot.js';
import type { RootfsRecipe } from './rootfs-recipes.js';

export const DEBIAN_SUITE = 'bookworm';
export const SANDBOX_UID = 1000;
export const SANDBOX_USER = 'user';

const HOSTS = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

/** debootstraps into `dir` (which must not exist yet or be empty) and configures the result. */
export async function debootstrapRootfs(
  dir: string,
  recipe: RootfsRecipe,
  mirror: string,
  log: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  try {
    await runCommand('debootstrap', [
      '--variant=minbase',
      `--include=${[...new Set(recipe.packages)].join(',')}`,
      '--components=main',
      DEBIAN_SUITE,
      dir,
      mirror,
    ]);
  } catch (err) {
    // debootstrap's stderr only says "see debootstrap.log"; the log is inside the folder the
    // caller deletes on failure, so put its end into the error now.
    const tail = await readFile(path.join(dir, 'debootstrap', 'debootstrap.log'), 'utf8')
      .then((t) => t.trim().split('\n').slice(-8).join(' | '))
      .catch(() => '');
    throw new Error(`${(err as Error).message}${tail ? `; debootstrap.log: ${tail}` : ''}`, { cause: err });
  }
  log(`debootstrap ${DEBIAN_SUITE} (${recipe.packages.length} extra packages): ${secondsSince(started)} s`);

  const setupStarted = Date.now();
  await configureRoot(dir);
  await cleanRoot(dir);
  log(`user setup and clean-up: ${secondsSince(setupStarted)} s`);
}

/** The in-root setup. USER_SETUP_VERSION in rootfs-recipes.ts must change when this does. */
export async function configureRoot(root: string): Promise<void> {
  const etc = path.join(root, 'etc');

  await runInRoot(root, ['groupadd', '--gid', String(SANDBOX_UID), SANDBOX_USER]);
  await runInRoot(root, [
    'useradd', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID),
    '--create-home', '--home-dir', `/home/${SANDBOX_USER}`, '--shell', '/bin/bash', SANDBOX_USER,
  ]);
  // Debian already gives root /root; setting it again guards against a changed base passwd.
  await runInRoot(root, ['usermod', '--home', '/root', 'root']);

  const sudoers = path.join(etc, 'sudoers.d', SANDBOX_USER);
  await writeFile(sudoers, `${SANDBOX_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  await chmod(sudoers, 0o440); // writeFile's mode is filtered by the umask
  await runInRoot(root, ['visudo', '--check', '--quiet', '--file', `/etc/sudoers.d/${SANDBOX_USER}`]);

  // runc sets each sandbox's host name; nothing in the root may depend on it. debootstrap copies
  // the HOST's hosts, hostname and resolv.conf, which must not leak into templates.
  await writeFile(path.join(etc, 'hosts'), HOSTS);
  await writeFile(path.join(etc, 'hostname'), 'sandbox\n');
  // The network set-up fills resolv.conf per sandbox; it has to stay a regular file (bind-mount
  // target), not a symlink.
  await rm(path.join(etc, 'resolv.conf'), { force: true });
  await writeFile(path.join(etc, 'resolv.conf'), '');
  // myhostname answers for the sandbox's own name, so sudo never warns "unable to resolve host".
  const nsswitch = path.join(etc, 'nsswitch.conf');
  const ns = await readFile(nsswitch, 'utf8');
  await writeFile(nsswitch, ns.replace(/^hosts:.*$/m, 'hosts:          files myhostname dns'));

  await quickenLoginShells(root);

  // Mount point for the bind-mounted node binary and envd bundle.
  await mkdir(path.join(root, 'opt', 'sandcastle'), { recursive: true, mode: 0o755 });

  // Agents run `pip install x` as in the hosted product; Debian's PEP 668 marker would refuse it.
  for (const entry of await readdir(path.join(root, 'usr', 'lib'))) {
    if (entry.startsWith('python3')) await rm(path.join(root, 'usr', 'lib', entry, 'EXTERNALLY-MANAGED'), { force: true });
  }
}

function secondsSince(t: number): string {
  return ((Date.now() - t) / 1000).toFixed(1);
}
