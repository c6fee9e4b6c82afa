import { loadConfig } from '../config.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  builtinRecipes, ensureTemplateRootfs, isTemplateCurrent, recipeHash, removeUnusedBuilds, templateLayers,
  type BuilderConfig, type RootfsBuilders, type RootfsRecipe,
} from './rootfs-builder.js';
import { baseRecipe, codeInterpreterV1Recipe } from './rootfs-recipes.js';

async function tempDataDir(t: TestContext): Promise<BuilderConfig> {
  const templatesDir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-rootfs-test-'));
  t.after(() => rm(templatesDir, { recursive: true, force: true }));
  return { templatesDir, debianMirror: 'http://mirror.invalid/debian' };
}

/** Builders that write a marker naming the recipe instead of running debootstrap/apt. */
function fakeBuilders(opts: { fail?: boolean; delayMs?: number } = {}) {
  const calls: { kind: 'full' | 'layer'; lowerDirs?: readonly string[] }[] = [];
  const builders: RootfsBuilders = {
    async full(dir, recipe) {
      calls.push({ kind: 'full' });
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'marker'), recipe.packages.join(' '));
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (opts.fail) throw new Error('debootstrap exploded');
    },
    async layer(upper, lowerDirs, recipe) {
      calls.push({ kind: 'layer', lowerDirs });
      await mkdir(upper, { recursive: true });
      await writeFile(path.join(upper, 'marker'), recipe.packages.join(' '));
      if (opts.fail) throw new Error('apt exploded');
    },
  };
  return { builders, calls };
}

const small: RootfsRecipe = { packages: ['bash', 'tini'], userSetupVersion: 1 };
const child: RootfsRecipe = { packages: ['python3-numpy'], userSetupVersion: 1, parent: { templateId: 'small', recipe: small } };

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

test('recipe hash ignores package order and duplicates but changes with packages, setup version and parent', () => {
  const h = recipeHash(small);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(recipeHash({ packages: ['tini', 'bash', 'tini'], userSetupVersion: 1 }), h);
  assert.notEqual(recipeHash({ packages: ['bash', 'tini', 'git'], userSetupVersion: 1 }), h);
  assert.notEqual(recipeHash({ packages: ['bash', 'tini'], userSetupVersion: 2 }), h);
  const childWithOtherParent: RootfsRecipe = { ...child, parent: { templateId: 'small', recipe: { ...small, packages: ['bash'] } } };
  assert.notEqual(recipeHash(childWithOtherParent), recipeHash(child));
  assert.notEqual(recipeHash(child), recipeHash({ ...child, parent: undefined }));
});

test('layers are listed top first and follow the parent chain', () => {
  assert.deepEqual(templateLayers('/d', 'code-interpreter-v1'), [
    '/d/code-interpreter-v1/current',
    '/d/base/current',
  ]);
  assert.deepEqual(templateLayers('/d', 'base'), ['/d/base/current']);
  assert.equal(builtinRecipes['code-interpreter-v1'], codeInterpreterV1Recipe);
  assert.ok(baseRecipe.packages.includes('tini') && baseRecipe.packages.includes('libstdc++6'));
  assert.throws(() => templateLayers('/d', 'no-such-template'), /no recipe/);
  assert.throws(() => templateLayers('/d', '../etc', small), /invalid template id/);
});

test('builds once, then the cache skips the build', async (t) => {
  const config = await tempDataDir(t);
  const { builders, calls } = fakeBuilders();

  const first = await ensureTemplateRootfs(config, 'small', small, { builders });
  assert.equal(first.built, true);
  assert.equal(path.dirname(first.rootfsDir), path.join(config.templatesDir, 'small', 'layers'));
  assert.ok(path.basename(first.rootfsDir).startsWith(recipeHash(small).slice(0, 16)));
  assert.deepEqual(first.layers, [first.rootfsDir]);
  assert.equal(await readFile(path.join(first.rootfsDir, 'marker'), 'utf8'), 'bash tini');
  assert.equal((await readFile(path.join(config.templatesDir, 'small', 'recipe.sha256'), 'utf8')).trim(), recipeHash(small));
  assert.equal(await isTemplateCurrent(config.templatesDir, 'small', small), true);

  const started = Date.now();
  const second = await ensureTemplateRootfs(config, 'small', small, { builders });
  assert.equal(second.built, false);
  assert.ok(Date.now() - started < 500, 'a cache hit must be fast');
  assert.equal(calls.length, 1);
  assert.deepEqual(second.layers, first.layers);
  // Only the finished layer, its link and its hash remain: no lock, no work folders.
  assert.deepEqual(await entries(path.join(config.templatesDir, 'small')), ['current', 'layers', 'recipe.sha256']);
});

test('with a user namespace the layers go to a folder of the mapping, their owners shifted; a current unshifted layer is copied, not rebuilt', async (t) => {
  const plain = await tempDataDir(t);
  const userns = { base: 100_000, size: 65_536 };
  const config = { ...plain, userns };
  const { builders, calls } = fakeBuilders();

  const built = await ensureTemplateRootfs(config, 'small', small, { builders });
  assert.equal(path.dirname(built.rootfsDir), path.join(plain.templatesDir, 'userns-100000-65536', 'small', 'layers'));
  assert.equal((await stat(path.join(built.rootfsDir, 'marker'))).uid, 100_000);
  assert.equal(await isTemplateCurrent(plain.templatesDir, 'small', small), false, 'the unshifted layer is not made');
  assert.equal(calls.length, 1);

  await ensureTemplateRootfs(plain, 'child-base', small, { builders });
  const copied = await ensureTemplateRootfs(config, 'child-base', small, { builders });
  assert.equal(calls.length, 2, 'the current unshifted layer is copied, not built again');
  assert.equal((await stat(path.join(copied.rootfsDir, 'marker'))).uid, 100_000);
  assert.equal((await stat(path.join(plain.templatesDir, 'child-base', 'current', 'marker'))).uid, 0, 'the unshifted layer stays as it was');
});

test('a changed recipe rebuilds beside the old build, which stays for what was made on it', async (t) => {
  const config = await tempDataDir(t);
  const { builders, calls } = fakeBuilders();
  const old = await ensureTemplateRootfs(config, 'small', small, { builders });
  const changed: RootfsRecipe = { ...small, packages: [...small.packages, 'git'] };
  assert.equal(await isTemplateCurrent(config.templatesDir, 'small', changed), false);

  const r = await ensureTemplateRootfs(config, 'small', changed, { builders });
  assert.equal(r.built, true);
  assert.equal(calls.length, 2);
  assert.equal(await readFile(path.join(r.rootfsDir, 'marker'), 'utf8'), 'bash tini git');
  assert.equal(await readFile(path.join(config.templatesDir, 'small', 'current', 'marker'), 'utf8'), 'bash tini git');
  assert.notEqual(r.rootfsDir, old.rootfsDir);
  assert.equal(await readFile(path.join(old.rootfsDir, 'marker'), 'utf8'), 'bash tini', 'the old build is untouched');
  assert.deepEqual(await entries(path.join(config.templatesDir, 'small')), ['current', 'layers', 'recipe.sha256']);
});

test('a layered template builds its parent first, gets the parent layers, and is rebuilt when the parent changes', async (t) => {
  const config = await tempDataDir(t);
  const { builders, calls } = fakeBuilders();
  const r = await ensureTemplateRootfs(config, 'child', child, { builders });
  const parentBuild = (await ensureTemplateRootfs(config, 'small', small, { builders })).rootfsDir;
  assert.equal(r.built, true);
  assert.deepEqual(r.layers, [r.rootfsDir, parentBuild]);
  assert.deepEqual(calls.map((c) => c.kind), ['full', 'layer']);
  assert.deepEqual(calls[1]?.lowerDirs, [parentBuild]);

  assert.equal((await ensureTemplateRootfs(config, 'child', child, { builders })).built, false);
  assert.equal(calls.length, 2);

  const newParent: RootfsRecipe = { ...small, packages: ['bash'] };
  const r2 = await ensureTemplateRootfs(config, 'child', { ...child, parent: { templateId: 'small', recipe: newParent } }, { builders });
  assert.equal(r2.built, true);
  assert.deepEqual(calls.map((c) => c.kind), ['full', 'layer', 'full', 'layer']);
  assert.notEqual(r2.layers[1], parentBuild);
  assert.equal(await readFile(path.join(r2.layers[1]!, 'marker'), 'utf8'), 'bash');
});

test('a failed build leaves nothing that looks built and releases the lock', async (t) => {
  const config = await tempDataDir(t);
  await assert.rejects(
    ensureTemplateRootfs(config, 'small', small, { builders: fakeBuilders({ fail: true }).builders }),
    /building template "small" failed: debootstrap exploded/,
  );
  const dir = path.join(config.templatesDir, 'small');
  assert.deepEqual(await entries(dir), []);
  assert.equal(await isTemplateCurrent(config.templatesDir, 'small', small), false);

  const ok = await ensureTemplateRootfs(config, 'small', small, { builders: fakeBuilders().builders });
  assert.equal(ok.built, true);
});

test('a failed rebuild keeps the previous layer, still current for its own recipe only', async (t) => {
  const config = await tempDataDir(t);
  await ensureTemplateRootfs(config, 'small', small, { builders: fakeBuilders().builders });
  const changed: RootfsRecipe = { ...small, packages: ['git'] };
  await assert.rejects(ensureTemplateRootfs(config, 'small', changed, { builders: fakeBuilders({ fail: true }).builders }));
  assert.equal(await readFile(path.join(config.templatesDir, 'small', 'current', 'marker'), 'utf8'), 'bash tini');
  assert.equal(await isTemplateCurrent(config.templatesDir, 'small', small), true);
  assert.equal(await isTemplateCurrent(config.templatesDir, 'small', changed), false);
});

test('concurrent calls for one template build it once', async (t) => {
  const config = await tempDataDir(t);
  const { builders, calls } = fakeBuilders({ delayMs: 100 });
  const results = await Promise.all([1, 2, 3].map(() => ensureTemplateRootfs(config, 'small', small, { builders })));
  assert.equal(calls.length, 1);
  assert.equal(results.filter((r) => r.built).length, 3); // all share the one build's result
});

test("a dead builder's lock and work folders are taken over and removed", async (t) => {
  const config = await tempDataDir(t);
  const dir = path.join(config.templatesDir, 'small');
  const deadPid = spawnSync('true').pid;
  assert.ok(deadPid);
  await mkdir(path.join(dir, '.build-stale', 'rootfs'), { recursive: true });
  await writeFile(path.join(dir, '.lock'), `${deadPid}\n`);

  const r = await ensureTemplateRootfs(config, 'small', small, { builders: fakeBuilders().builders, lockWaitMs: 2000 });
  assert.equal(r.built, true);
  assert.deepEqual(await entries(dir), ['current', 'layers', 'recipe.sha256']);
});

test('a live lock holder is waited for, up to the limit', async (t) => {
  const config = await tempDataDir(t);
  const dir = path.join(config.templatesDir, 'small');
  await mkdir(dir, { recursive: true });
  // Our parent process is alive for the whole test.
  await writeFile(path.join(dir, '.lock'), `${process.ppid}\n`);
  await assert.rejects(
    ensureTemplateRootfs(config, 'small', small, { builders: fakeBuilders().builders, lockWaitMs: 300 }),
    /still locked by pid/,
  );
  assert.equal(existsSync(path.join(dir, 'current')), false);
});

test('earlier builds are removed once nothing records them; the current one and recorded ones stay', async (t) => {
  const config = await tempDataDir(t);
  const { builders } = fakeBuilders();
  const build = async (packages: string[]) => (await ensureTemplateRootfs(config, 'base', { ...small, packages }, { builders })).rootfsDir;
  const first = await build(['bash']);
  const second = await build(['bash', 'git']);
  const current = await build(['bash', 'vim']);
  const layers = path.join(config.templatesDir, 'base', 'layers');

  // A sandbox of another server sharing the templates folder mounts `second`: it stays.
  const mounts = path.join(config.templatesDir, 'mounts');
  await writeFile(mounts, `/dev/vda / ext4 rw 0 0\noverlay /x/rootfs overlay rw,lowerdir=${second}:/other,upperdir=/x/u,workdir=/x/w 0 0\n`);
  assert.deepEqual(await removeUnusedBuilds(config.templatesDir, new Set([first]), mounts), []);
  assert.deepEqual(await removeUnusedBuilds(config.templatesDir, new Set([first])), [second]);
  assert.deepEqual(await entries(layers), [path.basename(first), path.basename(current)].sort());

  // A build in progress (its lock held by a live process) is left alone.
  await writeFile(path.join(config.templatesDir, 'base', '.lock'), `${process.ppid}\n`);
  assert.deepEqual(await removeUnusedBuilds(config.templatesDir, new Set()), []);
  await rm(path.join(config.templatesDir, 'base', '.lock'));

  assert.deepEqual(await removeUnusedBuilds(config.templatesDir, new Set()), [first]);
  assert.deepEqual(await entries(layers), [path.basename(current)]);
  assert.equal(await readFile(path.join(config.templatesDir, 'base', 'current', 'marker'), 'utf8'), 'bash vim');
});

test("an install's build from before builds were kept apart gets a link, stays at the next build, and goes once unused", async (t) => {
  const config = await tempDataDir(t);
  const dir = path.join(config.templatesDir, 'base');
  const legacy = path.join(dir, 'rootfs');
  await mkdir(legacy, { recursive: true });
  await writeFile(path.join(legacy, 'marker'), 'old');
  await writeFile(path.join(dir, 'recipe.sha256'), `${recipeHash(small)}\n`);
  assert.equal(await isTemplateCurrent(config.templatesDir, 'base', small), true);
  assert.deepEqual((await ensureTemplateRootfs(config, 'base', small, { builders: fakeBuilders().builders })).layers, [legacy]);
  assert.equal(await readFile(path.join(dir, 'current', 'marker'), 'utf8'), 'old');

  const rebuilt = await ensureTemplateRootfs(config, 'base', { ...small, packages: ['git'] }, { builders: fakeBuilders().builders });
  assert.equal(await readFile(path.join(legacy, 'marker'), 'utf8'), 'old', 'sandboxes made on it still find it where their records say');
  assert.equal(await readFile(path.join(dir, 'current', 'marker'), 'utf8'), 'git');

  assert.deepEqual(await removeUnusedBuilds(config.templatesDir, new Set([legacy])), []);
  assert.deepEqual(await removeUnusedBuilds(config.templatesDir, new Set()), [legacy]);
  assert.deepEqual(await entries(dir), ['current', 'layers', 'recipe.sha256']);
  assert.deepEqual(await entries(path.join(dir, 'layers')), [path.basename(rebuilt.rootfsDir)]);
});

test('package names that could be read as options are refused before anything runs', async (t) => {
  const config = await tempDataDir(t);
  const { builders, calls } = fakeBuilders();
  await assert.rejects(
    ensureTemplateRootfs(config, 'evil', { packages: ['--allow-unauthenticated'], userSetupVersion: 1 }, { builders }),
    /invalid package name/,
  );
  assert.equal(calls.length, 0);
});

// The one test on a real root filesystem: it only reads the already built `base` template (never
// builds: the builders throw), and is skipped when none is built here.
const realTemplates = loadConfig().templatesDir;
const realBuilt = await isTemplateCurrent(realTemplates, 'base', baseRecipe).catch(() => false);
test('the built base template is cached and set up for sandboxes', { skip: !realBuilt && `no current base template under ${realTemplates}` }, async () => {
  const refuse: RootfsBuilders = {
    full: () => Promise.reject(new Error('must not build')),
    layer: () => Promise.reject(new Error('must not build')),
  };
  const r = await ensureTemplateRootfs({ templatesDir: realTemplates, debianMirror: 'unused' }, 'base', baseRecipe, { builders: refuse });
  assert.equal(r.built, false);
  const root = r.rootfsDir;
  assert.ok((await stat(path.join(root, 'usr/bin/tini'))).isFile());
  assert.ok((await stat(path.join(root, 'opt/sandcastle'))).isDirectory());
  assert.equal((await stat(path.join(root, 'etc/sudoers.d/user'))).mode & 0o777, 0o440);
  assert.match(await readFile(path.join(root, 'etc/passwd'), 'utf8'), /^user:x:1000:1000::\/home\/user:\/bin\/bash$/m);
  assert.match(await readFile(path.join(root, 'etc/passwd'), 'utf8'), /^root:x:0:0:root:\/root:/m);
  const home = await stat(path.join(root, 'home/user'));
  assert.equal(home.uid, 1000);
  const resolv = await stat(path.join(root, 'etc/resolv.conf'));
  assert.ok(resolv.isFile() && resolv.size === 0);
  assert.match(await readFile(path.join(root, 'etc/hosts'), 'utf8'), /^127\.0\.0\.1\s+localhost$/m);
  assert.deepEqual(await readdir(path.join(root, 'var/lib/apt/lists')), ['partial']);
});
