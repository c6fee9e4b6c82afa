// Builds the host-side helpers of the server into dist/host/: the static mount helper that makes
// a sandbox's disk and root (src/runtime/runc/mount-helper.c). Run by `npm run build`.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'host');
await mkdir(outdir, { recursive: true });
execFileSync('cc', ['-static', '-Os', '-Wall', '-o', path.join(outdir, 'sandcastle-mount'), path.join(root, 'src', 'runtime', 'runc', 'mount-helper.c')], { stdio: 'inherit' });
