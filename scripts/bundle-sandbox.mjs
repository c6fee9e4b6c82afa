// Bundles everything that runs inside a sandbox into single self-contained files under
// dist/sandbox/ (no node_modules exist there): today envd, started as
// `/opt/sandcastle/node /opt/sandcastle/envd.mjs`. Run by `npm run build`, or alone:
// `node scripts/bundle-sandbox.mjs [output directory]`.
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'sandbox'));

await mkdir(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { envd: 'src/envd/main.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // Bundled CommonJS dependencies (busboy) call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

for (const [file, info] of Object.entries(result.metafile.outputs)) {
  console.log(`${path.resolve(root, file)}  ${(info.bytes / 1024).toFixed(0)} KiB`);
}
