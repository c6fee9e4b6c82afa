// Builds the host-side helpers of the server into dist/host/, static: the mount helper that makes
// a sandbox's disk and root (src/runtime/runc/mount-helper.c) and the one that sets a sandbox
// network's sysctls (src/runtime/network/netns-sysctl.c). Run by `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'host');
await mkdir(outdir, { recursive: true });
const helpers = [
  ['sandcastle-mount', 'src/runtime/runc/mount-helper.c'],
  ['sandcastle-netns-sysctl', 'src/runtime/network/netns-sysctl.c'],
];
for (const [name, source] of helpers) {
  execFileSync('cc', ['-static', '-Os', '-Wall', '-o', path.join(outdir, name), path.join(root, source)], { stdio: 'inherit' });
}
