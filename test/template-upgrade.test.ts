// An upgrade rebuilds the built-in templates (a new recipe, as `USER_SETUP_VERSION` 2 did): the
// sandboxes running or paused on the earlier build keep its files, new ones get the new build,
// and the earlier build is removed once nothing uses it. The templates of this test are links to
// the machine's built ones (`cp -al`, built in seconds instead of minutes); the rebuild goes
// through the real builder with a build step that adds a marker file. Without user namespaces:
// a shifted copy would change the owners of the shared files.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { Sandbox } from 'novita-sandbox';
import { runCommand } from '../src/runtime/run-command.js';
import { builtinRecipes, ensureTemplateRootfs, type BuilderConfig, type RootfsBuilders, type RootfsRecipe } from '../src/templates/rootfs-builder.js';
import { startMemoryHash } from './support/memory-hash.js';
import { disposeServer, startServerProcess, useServer, type ServerProcess } from './support/server-process.js';

const shared: BuilderConfig = { templatesDir: process.env.SANDCASTLE_TEMPLATES_DIR ?? '/var/lib/sandcastle/templates', debianMirror: 'http://mirror.invalid/debian' };
const marker = 'etc/sandcastle-rebuilt';

let templatesDir: string;
const servers: ServerProcess[] = [];

/** Builders that link the machine's current build of each template into place (never build). */
async function linkingBuilders(withMarker: boolean): Promise<RootfsBuilders> {
  const never: RootfsBuilders = {
    full: () => Promise.reject(new Error('the shared templates must be built already')),
    layer: () => Promise.reject(new Error('the shared templates must be built already')),
  };
  const built = new Map(await Promise.all(Object.entries(builtinRecipes).map(async ([id, recipe]) => [recipe, (await ensureTemplateRootfs(shared, id, recipe, { builders: never })).rootfsDir] as const)));
  const link = async (dir: string, recipe: RootfsRecipe) => {
    await runCommand('cp', ['-al', built.get(recipe)!, dir]);
    if (withMarker) await writeFile(path.join(dir, marker), 'rebuilt\n');
  };
  return { full: (dir, recipe) => link(dir, recipe), layer: (upper, _lowers, recipe) => link(upper, recipe) };
}

/** A server on the data folder and settings (its sandboxes' addresses among them) of the first. */
async function server(): Promise<ServerProcess> {
  const first = servers[0];
  const env = first?.env ?? { SANDCASTLE_USERNS: '0', SANDCASTLE_TEMPLATES_DIR: templatesDir, SANDCASTLE_WARM_POOL: '0' };
  const s = await startServerProcess({ dataDir: first?.dataDir, env });
  servers.push(s);
  useServer(s);
  return s;
}

before(async () => {
  templatesDir = await mkdtemp(path.join(os.tmpdir(), 'sandcastle-upgrade-templates-'));
  const config: BuilderConfig = { templatesDir, debianMirror: shared.debianMirror };
  const builders = await linkingBuilders(false);
  for (const [id, recipe] of Object.entries(builtinRecipes)) await ensureTemplateRootfs(config, id, recipe, { builders });
});

after(async () => {
  // The servers share one data folder, each stopped before the next started: the last one ends it.
  if (servers.length > 0) await disposeServer(servers.at(-1)!);
  await rm(templatesDir, { recursive: true, force: true });
});

it('a rebuilt template leaves running and paused sandboxes their build; the earlier build goes once unused', { timeout: 300_000 }, async () => {
  try {
    await upgrade();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- output of the servers ---\n${servers.map((s) => s.output()).join('\n---\n')}`, { cause: err });
  }
});

async function upgrade(): Promise<void> {
  const first = await server();
  const running = await Sandbox.create({ timeoutMs: 600_000 });
  const paused = await Sandbox.create({ timeoutMs: 600_000 });
  await paused.files.write('/home/user/kept.txt', 'mine');
  const memory = await startMemoryHash(paused, 8);
  await paused.betaPause();
  await first.stop();

  // The upgrade: `base` rebuilt (its recipe no longer current), its child layered over the new build.
  await rm(path.join(templatesDir, 'base', 'recipe.sha256'));
  const rebuilt = await ensureTemplateRootfs({ templatesDir, debianMirror: shared.debianMirror }, 'base', builtinRecipes.base!, { builders: await linkingBuilders(true) });
  assert.equal(rebuilt.built, true);
  const builds = await readdir(path.join(templatesDir, 'base', 'layers'));
  assert.equal(builds.length, 2, 'the earlier build stays while sandboxes use it');

  await server();
  // The SDK's objects keep the URL of the server they were made with: connect again.
  const resumed = await Sandbox.connect(paused.sandboxId);
  assert.equal(await resumed.files.read('/home/user/kept.txt'), 'mine');
  assert.equal(await memory.now(resumed), memory.before, 'the restored memory is intact');
  assert.equal(await resumed.files.exists(`/${marker}`), false, 'the paused sandbox resumed on its own build');
  const stillRunning = await Sandbox.connect(running.sandboxId);
  assert.equal(await stillRunning.files.exists(`/${marker}`), false, 'the running sandbox kept its build');
  assert.equal((await stillRunning.commands.run('cat /etc/os-release')).exitCode, 0);
  const fresh = await Sandbox.create();
  assert.equal(await fresh.files.exists(`/${marker}`), true, 'a new sandbox gets the new build');
  for (const s of [stillRunning, resumed, fresh]) await s.kill();
  await servers.at(-1)!.stop();

  const last = await server();
  const earlier = path.join(templatesDir, 'base', 'layers', builds.find((b) => path.join(templatesDir, 'base', 'layers', b) !== rebuilt.rootfsDir)!);
  assert.equal(existsSync(earlier), false, `the earlier build is removed at the start after its last sandbox went:\n${last.output().slice(-2000)}`);
  assert.equal(existsSync(rebuilt.rootfsDir), true);
}
