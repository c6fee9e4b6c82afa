// Makes sure a template's read-only root filesystem exists and matches its recipe, building it
// only when needed. Layout under the data directory:
//   templates/<id>/layers/<v>      each build of the template's own read-only layer (a full root
//                                  for a template without parent, only the changed files for a
//                                  layered one); sandboxes and snapshots record the build they
//                                  were made on, so a rebuild (an upgrade) never changes the files
//                                  under them. The server removes builds nothing records any more.
//   templates/<id>/rootfs          the one build of an install from before builds were kept
//                                  apart; left where it is (records name it) until unused
//   templates/<id>/current         symbolic link to the current build (either of the above)
//   templates/<id>/recipe.sha256   hash of the recipe the current build was made from (cache key)
//   templates/<id>/.lock           present while a process builds this template
//   templates/<id>/.build-*        work in progress; never looks like a finished template
//   templates/userns-<base>-<size>/<id>/...
//                                  the same for servers whose sandboxes run in a user namespace:
//                                  owners shifted into the mapping once, when built (a copy of
//                                  the unshifted layer when that one is current)
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { mappingTag } from '../runtime/id-mapping.js';
import { runCommand } from '../runtime/run-command.js';
import { debootstrapRootfs } from './rootfs-debootstrap.js';
import { buildAptLayer } from './rootfs-layer.js';
import { builtinRecipes, recipeHash, type RootfsRecipe } from './rootfs-recipes.js';
import { shiftOwnership } from './shift-ownership.js';

export { builtinRecipes, recipeHash, type RootfsRecipe } from './rootfs-recipes.js';

export type BuilderConfig = Pick<Config, 'templatesDir' | 'debianMirror' | 'userns'>;

/** The folder holding the templates of this ownership: `templatesDir` itself for sandboxes
 *  without a user namespace, a folder per mapping for the others. */
export function templatesRoot(config: Pick<Config, 'templatesDir' | 'userns'>): string {
  return config.userns ? path.join(config.templatesDir, mappingTag(config.userns)) : config.templatesDir;
}

/** The two ways of producing a template's layer; tests replace them with fakes. */
export interface RootfsBuilders {
  /** Writes a complete root filesystem into `dir` (which does not exist yet). */
  full(dir: string, recipe: RootfsRecipe, config: BuilderConfig, log: (line: string) => void): Promise<void>;
  /** Writes into `upperDir` (does not exist yet) what the recipe changes over `lowerDirs` (top
   *  first); `scratchDir` is an empty folder on the same file system. */
  layer(
    upperDir: string, lowerDirs: readonly string[], recipe: RootfsRecipe, scratchDir: string,
    config: BuilderConfig, log: (line: string) => void,
  ): Promise<void>;
}

export const realBuilders: RootfsBuilders = {
  full: (dir, recipe, config, log) => debootstrapRootfs(dir, recipe, config.debianMirror, log),
  layer: (upper, lowers, recipe, scratch, _config, log) => buildAptLayer(upper, lowers, recipe, scratch, log),
};

export interface EnsureOptions {
  builders?: RootfsBuilders;
  /** Progress lines (steps and their durations). */
  log?: (line: string) => void;
  /** How long to wait for another process that is building the same template. */
  lockWaitMs?: number;
}

export interface EnsuredTemplate {
  templateId: string;
  /** This template's own layer: the folder of its current build. */
  rootfsDir: string;
  /** All read-only layers of the template, top first (overlayfs lowerdir order), each the folder
   *  of the current build: what a sandbox made now records and mounts. */
  layers: string[];
  /** True when this call built this template's own layer (a rebuilt parent is not counted). */
  built: boolean;
  /** Time this call spent on this template, including waiting for a parent. */
  seconds: number;
}

const TEMPLATE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
// Debian package names; anything else (e.g. a leading '-') must never reach debootstrap or apt.
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

export function templateDir(templatesDir: string, templateId: string): string {
  if (!TEMPLATE_ID.test(templateId)) throw new Error(`invalid template id "${templateId}"`);
  return path.join(templatesDir, templateId);
}

/** The link to the template's current build. */
export function currentBuildLink(templatesDir: string, templateId: string): string {
  return path.join(templateDir(templatesDir, templateId), 'current');
}

/** The build folder of an install from before builds were kept apart. */
function legacyBuildDir(templatesDir: string, templateId: string): string {
  return path.join(templateDir(templatesDir, templateId), 'rootfs');
}

/** The folder of the template's current build, where its `current` link points (the legacy
 *  folder when there is no link yet), as a path under `templatesDir`: not resolved further, so
 *  that it compares equal to what records hold. Undefined when there is none. */
async function currentBuildDir(templatesDir: string, templateId: string): Promise<string | undefined> {
  const link = currentBuildLink(templatesDir, templateId);
  const target = await readlink(link).catch(() => undefined);
  if (target !== undefined) return path.resolve(path.dirname(link), target);
  const legacy = legacyBuildDir(templatesDir, templateId);
  return (await lstat(legacy).catch(() => undefined))?.isDirectory() ? legacy : undefined;
}

/** Points the template's `current` link (`currentBuildLink`) at `build`, a folder of the
 *  template's, atomically. */
async function pointCurrentAt(link: string, build: string): Promise<void> {
  const next = `${link}.next`;
  await rm(next, { force: true });
  await symlink(path.relative(path.dirname(link), build), next);
  await rename(next, link);
}

/** The read-only layers of a template, top first, for overlayfs `lowerdir`, by the `current`
 *  link of each (whatever build is current when followed). Pure path computation: it does not
 *  check that they are built. The recipe defaults to the built-in one. */
export function templateLayers(templatesDir: string, templateId: string, recipe: RootfsRecipe | undefined = builtinRecipes[templateId]): string[] {
  if (!recipe) throw new Error(`no recipe known for template "${templateId}"`);
  const own = currentBuildLink(templatesDir, templateId);
  return recipe.parent ? [own, ...templateLayers(templatesDir, recipe.parent.templateId, recipe.parent.recipe)] : [own];
}

/** True when the template's layer exists and was built from this recipe. Cheap: one small read
 *  and one stat. Does not look at parents (their hashes are part of this one). */
export async function isTemplateCurrent(templatesDir: string, templateId: string, recipe: RootfsRecipe): Promise<boolean> {
  const dir = templateDir(templatesDir, templateId);
  const stored = await readFile(path.join(dir, 'recipe.sha256'), 'utf8').catch(() => '');
  if (stored.trim() !== recipeHash(recipe)) return false;
  const build = await currentBuildDir(templatesDir, templateId);
  return build !== undefined && (await stat(build).then((s) => s.isDirectory(), () => false));
}

// Concurrent calls in this process for the same template share one build.
const inFlight = new Map<string, Promise<EnsuredTemplate>>();

/** Builds the template's layer (and its parents') unless it is already built from this recipe. */
export function ensureTemplateRootfs(
  config: BuilderConfig,
  templateId: string,
  recipe: RootfsRecipe,
  opts: EnsureOptions = {},
): Promise<EnsuredTemplate> {
  const key = `${path.resolve(templatesRoot(config))}\0${templateId}\0${recipeHash(recipe)}`;
  let p = inFlight.get(key);
  if (!p) {
    p = ensureUncached(config, templateId, recipe, opts).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

/** Ensures every built-in template, parents first. */
export async function ensureBuiltinTemplates(config: BuilderConfig, opts: EnsureOptions = {}): Promise<EnsuredTemplate[]> {
  const out: EnsuredTemplate[] = [];
  for (const [id, recipe] of Object.entries(builtinRecipes)) out.push(await ensureTemplateRootfs(config, id, recipe, opts));
  return out;
}

async function ensureUncached(config: BuilderConfig, templateId: string, recipe: RootfsRecipe, opts: EnsureOptions): Promise<EnsuredTemplate> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const root = templatesRoot(config);
  const dir = templateDir(root, templateId);
  for (const p of recipe.packages) {
    if (!PACKAGE_NAME.test(p)) throw new Error(`template "${templateId}": invalid package name "${p}"`);
  }
  const lowerDirs = recipe.parent
    ? (await ensureTemplateRootfs(config, recipe.parent.templateId, recipe.parent.recipe, opts)).layers
    : [];
  const result = async (built: boolean): Promise<EnsuredTemplate> => {
    const own = (await currentBuildDir(root, templateId))!;
    // An install from before builds were kept apart gets its link too (to the same folder).
    const link = currentBuildLink(root, templateId);
    if (own === legacyBuildDir(root, templateId) && !existsSync(link)) await pointCurrentAt(link, own);
    return { templateId, rootfsDir: own, layers: [own, ...lowerDirs], built, seconds: (Date.now() - started) / 1000 };
  };

  if (await isTemplateCurrent(root, templateId, recipe)) return result(false);

  await mkdir(dir, { recursive: true, mode: 0o755 });
  const release = await acquireLock(path.join(dir, '.lock'), opts.lockWaitMs ?? 30 * 60_000, log, templateId);
  try {
    // Another process may have finished it while we waited for the lock.
    if (await isTemplateCurrent(root, templateId, recipe)) return result(false);
    await removeLeftovers(dir);

    const work = await mkdtemp(path.join(dir, '.build-'));
    try {
      const newRoot = path.join(work, 'rootfs');
      const builders = opts.builders ?? realBuilders;
      const unshifted = config.userns && (await isTemplateCurrent(config.templatesDir, templateId, recipe)) ? (await currentBuildDir(config.templatesDir, templateId))! : undefined;
      try {
        if (unshifted) {
          log(`template ${templateId}: copying the layer built without a user namespace`);
          await runCommand('cp', ['-a', '--reflink=auto', unshifted, newRoot]);
        } else {
          log(`template ${templateId}: building${recipe.parent ? ` as a layer over ${recipe.parent.templateId}` : ''}`);
          if (recipe.parent) await builders.layer(newRoot, lowerDirs, recipe, await mkdtemp(path.join(work, 'scratch-')), config, log);
          else await builders.full(newRoot, recipe, config, log);
        }
      } catch (err) {
        throw new Error(`building template "${templateId}" failed: ${(err as Error).message}`, { cause: err });
      }
      await stat(newRoot).catch(() => {
        throw new Error(`building template "${templateId}" produced no root filesystem at ${newRoot}`);
      });
      if (config.userns) {
        const shiftStarted = Date.now();
        const shifted = await shiftOwnership(newRoot, config.userns);
        log(`template ${templateId}: owners of ${shifted.changed} files shifted by ${config.userns.base} in ${((Date.now() - shiftStarted) / 1000).toFixed(1)} s`);
      }
      await swapIn(root, templateId, newRoot, recipeHash(recipe));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const done = await result(true);
    log(`template ${templateId}: built in ${done.seconds.toFixed(1)} s`);
    return done;
  } finally {
    await release();
  }
}

/** Makes `newRoot` the template's current build. The hash is removed first and written last, so
 *  a crash at any point leaves either the old, current build or no matching hash (rebuilt next
 *  time) — never a stale or partial layer that counts as done. Earlier builds stay where they are
 *  (sandboxes may run on them); `removeUnusedBuilds` takes them once nothing records them. */
async function swapIn(root: string, templateId: string, newRoot: string, hash: string): Promise<void> {
  const dir = templateDir(root, templateId);
  const hashFile = path.join(dir, 'recipe.sha256');
  await rm(hashFile, { force: true });
  const builds = path.join(dir, 'layers');
  await mkdir(builds, { recursive: true, mode: 0o755 });
  const build = path.join(builds, `${hash.slice(0, 16)}-${randomBytes(4).toString('hex')}`);
  await rename(newRoot, build);
  await pointCurrentAt(currentBuildLink(root, templateId), build);
  const tmpHash = `${hashFile}.tmp`;
  await writeFile(tmpHash, `${hash}\n`);
  await rename(tmpHash, hashFile);
}

/** The lower layers of the overlays mounted on this host: those of every running or paused
 *  sandbox, whichever server (data folder) it belongs to. */
async function mountedLayers(mountsFile: string): Promise<Set<string>> {
  const layers = new Set<string>();
  for (const line of (await readFile(mountsFile, 'utf8')).split('\n')) {
    const [, , type, options] = line.split(' ');
    if (type !== 'overlay') continue;
    const lower = options?.split(',').find((o) => o.startsWith('lowerdir='));
    for (const dir of lower?.slice('lowerdir='.length).split(':') ?? []) layers.add(dir.replace(/\\040/g, ' '));
  }
  return layers;
}

/**
 * Removes the builds of built-in templates under `root` that are not current, that no path in
 * `inUse` names (sandboxes, snapshots, templates and builds record the folders they use) and that
 * no overlay on this host mounts (sandboxes of other servers sharing the templates folder), the
 * legacy `rootfs` folder among them. Templates being built (locked) are skipped. Resolves to
 * what was removed.
 */
export async function removeUnusedBuilds(root: string, inUse: ReadonlySet<string>, mountsFile = '/proc/self/mounts'): Promise<string[]> {
  const removed: string[] = [];
  const mounted = await mountedLayers(mountsFile);
  for (const templateId of Object.keys(builtinRecipes)) {
    const dir = templateDir(root, templateId);
    const legacy = legacyBuildDir(root, templateId);
    const candidates = (await readdir(path.join(dir, 'layers')).catch(() => [] as string[])).map((n) => path.join(dir, 'layers', n));
    if (existsSync(legacy)) candidates.push(legacy);
    if (candidates.length === 0) continue;
    let release: () => Promise<void>;
    try {
      release = await acquireLock(path.join(dir, '.lock'), 0, () => {}, templateId);
    } catch {
      continue;
    }
    try {
      const current = await currentBuildDir(root, templateId);
      for (const build of candidates) {
        if (build === current || inUse.has(build) || mounted.has(build)) continue;
        await rm(build, { recursive: true, force: true });
        removed.push(build);
      }
    } finally {
      await release();
    }
  }
  return removed;
}

/** Work folders of builds that died (only called while holding the lock, so none is live). */
async function removeLeftovers(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (entry.startsWith('.build-') || entry.startsWith('.old-') || entry === 'current.next') {
      await rm(path.join(dir, entry), { recursive: true, force: true });
    }
  }
}

/** A lock file holding the owner's pid, created exclusively. A lock whose owner is gone (crash,
 *  kill -9) is taken over. Returns the release function. */
async function acquireLock(file: string, waitMs: number, log: (line: string) => void, templateId: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    try {
      const fh = await open(file, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => unlink(file).catch(() => {});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const content = await readFile(file, 'utf8').catch(() => null);
    if (content === null) continue; // released meanwhile
    const owner = Number.parseInt(content, 10);
    if (Number.isNaN(owner)) {
      // Created but its pid not written yet, or left empty by a crash at that exact moment.
      const age = Date.now() - (await stat(file).then((s) => s.mtimeMs, () => Date.now()));
      if (age > 5_000) await unlink(file).catch(() => {});
      else await sleep(50);
      continue;
    }
    if (!isAlive(owner)) {
      // Owner died (crash, kill -9): take over. Re-read first so that we do not remove a lock
      // another waiter has just taken over.
      const again = await readFile(file, 'utf8').catch(() => null);
      if (again === content) await unlink(file).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) throw new Error(`template "${templateId}": still locked by pid ${owner} after ${waitMs} ms (${file})`);
    if (!announced) log(`template ${templateId}: waiting for pid ${owner}, which is building it`);
    announced = true;
    await sleep(500);
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
