// Ensures the built-in template root filesystems under the data directory
// (SANDCASTLE_DATA_DIR, default /var/lib/sandcastle), building only what is missing or outdated.
//   node --import tsx scripts/build-templates.ts
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../src/config.js';
import { ensureBuiltinTemplates } from '../src/templates/rootfs-builder.js';

if (process.getuid?.() !== 0) {
  console.error('build-templates: must run as root (debootstrap, chroot, mount)');
  process.exit(1);
}

const config = loadConfig();
const started = Date.now();
console.log(`templates under ${config.templatesDir} (mirror ${config.debianMirror})`);
try {
  const results = await ensureBuiltinTemplates(config, { log: (line) => console.log(`  ${line}`) });
  for (const t of results) {
    // du counts hard-linked files once; the layers share nothing by hard link, so this is the
    // real disk use of the template's own layer.
    const size = execFileSync('du', ['-sh', t.rootfsDir], { encoding: 'utf8' }).split('\t')[0];
    console.log(`${t.templateId}: ${t.built ? 'built' : 'up to date'} in ${t.seconds.toFixed(2)} s, own layer ${size}, layers ${t.layers.join(':')}`);
  }
  console.log(`total ${((Date.now() - started) / 1000).toFixed(2)} s`);
} catch (err) {
  console.error(`build-templates: ${(err as Error).message}`);
  process.exit(1);
}
