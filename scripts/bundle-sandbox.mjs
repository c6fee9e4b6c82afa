// Bundles everything that runs inside a sandbox into single self-contained files under
// dist/sandbox/ (no node_modules exist there), mounted at /opt/sandcastle/lib in every sandbox:
// envd (`/opt/sandcastle/node /opt/sandcastle/lib/envd.mjs`), the code interpreter
// (interpreter.mjs) and the process behind its JavaScript contexts (interpreter-js-kernel.mjs).
// The interpreter's Python helpers and the esbuild binary (which strips TypeScript for its
// TypeScript contexts) are copied to dist/sandbox/interpreter/. Run by `npm run build`, or alone:
// `node scripts/bundle-sandbox.mjs [output directory]`.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'sandbox'));

await mkdir(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    envd: 'src/envd/main.ts',
    interpreter: 'src/interpreter/main.ts',
    'interpreter-js-kernel': 'src/interpreter/js-kernel-child.ts',
  },
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

const assets = path.join(outdir, 'interpreter');
await mkdir(assets, { recursive: true });
const pythonDir = path.join(root, 'src', 'interpreter', 'python');
for (const name of await readdir(pythonDir)) {
  if (name.endsWith('.py')) await copyFile(path.join(pythonDir, name), path.join(assets, name));
}
// The platform package of the esbuild this script runs with: a static binary, so it runs in any
// sandbox of this host's architecture.
const esbuildBinary = createRequire(import.meta.url).resolve(`@esbuild/${process.platform}-${process.arch}/bin/esbuild`);
await copyFile(esbuildBinary, path.join(assets, 'esbuild'));

// envd's helper for file metadata (extended attributes, which Node cannot reach): static, so it
// runs in any sandbox of this host's architecture, with or without glibc.
// Its process helper (spawner.c) likewise: envd starts every command through it.
for (const [helper, folder] of [['xattr', 'filesystem'], ['spawner', 'process']]) {
  execFileSync('cc', ['-static', '-Os', '-Wall', '-o', path.join(outdir, helper), path.join(root, 'src', 'envd', folder, `${helper}.c`)], { stdio: 'inherit' });
}
// envd's addon that gives freed memory back (memory-trim.ts), built against the Node-API headers
// package: loaded into the sandbox's copy of the host's node, with that node's own glibc.
const napiHeaders = path.join(path.dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')), 'include');
execFileSync('cc', ['-shared', '-fPIC', '-Os', '-Wall', '-I', napiHeaders, '-o', path.join(outdir, 'malloc-trim.node'), path.join(root, 'src', 'envd', 'malloc-trim.c')], { stdio: 'inherit' });

for (const [file, info] of Object.entries(result.metafile.outputs)) {
  console.log(`${path.resolve(root, file)}  ${(info.bytes / 1024).toFixed(0)} KiB`);
}
