// Bundles the web console's browser code (src/console/web/) with its libraries (xterm.js, uPlot)
// into dist/console/, which the server serves at /dashboard/assets/: no CDN at run time. Run by
// `npm run build`, or alone: `node scripts/bundle-console.mjs [output directory]`.
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'console'));

await mkdir(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { console: 'src/console/web/main.ts' },
  outdir,
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  console.log(`${path.resolve(root, file)}  ${(info.bytes / 1024).toFixed(0)} KiB`);
}
