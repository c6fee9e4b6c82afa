// Bundles the web console's browser code (src/console/web/) with its libraries (xterm.js, uPlot)
// into dist/console/, which the server serves at /dashboard/assets/: no CDN at run time. Run by
// `npm run build`, or alone: `node scripts/bundle-console.mjs [output directory]`.
import { build } from 'esbuild';
import { mkdir, readdir, rm } from 'node:fs/promises';
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
  // A sandbox's page (xterm.js, uPlot) is a chunk of its own, loaded when opened.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
// Chunks of earlier builds (their names carry their content's hash) are left out of the page.
const made = new Set(Object.keys(result.metafile.outputs).map((f) => path.basename(f)));
for (const name of await readdir(outdir)) {
  if (name.startsWith('chunk-') && !made.has(name)) await rm(path.join(outdir, name));
}
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  console.log(`${path.resolve(root, file)}  ${(info.bytes / 1024).toFixed(0)} KiB`);
}
