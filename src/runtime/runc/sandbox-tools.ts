// The host programs every sandbox gets read-only at /opt/sandcastle, whatever its image holds (a
// musl libc, another glibc, none at all, no shell, no init): a static tini as PID 1, and a copy of
// the host's node that carries its own dynamic loader and shared libraries. The copy's program
// interpreter and library path are rewritten (patchelf) to point into /opt/sandcastle, so it runs
// as a plain executable: process.execPath inside the sandbox is /opt/sandcastle/node and re-running
// it (the interpreter's JavaScript kernels) needs nothing from the image.
//
// The folder is prepared once per content, in a folder of the cache named by the hash of what it
// holds, so a changed node (or libc, or tini) gets a new folder, and saved states taken against the
// old one are not restored against the new one (the hash is part of their key).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, readlink, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../run-command.js';

/** Where the tools folder appears in every sandbox, and what it holds there. */
export const sandboxToolsDir = '/opt/sandcastle';
export const sandboxNode = `${sandboxToolsDir}/node`;
export const sandboxInit = `${sandboxToolsDir}/tini`;
/** node's loader and shared libraries (node's own library path). */
export const sandboxNodeLibs = `${sandboxToolsDir}/node-libs`;
/** Mount point of the bundled in-sandbox programs (envd, the interpreter): an empty folder in the
 *  tools folder, which is mounted read-only. */
export const sandboxBundleDir = `${sandboxToolsDir}/lib`;

/** Debian's tini package ships this statically linked build beside the dynamic one. */
export const hostStaticTini = '/usr/bin/tini-static';

/** Changes whenever the folder's layout or the way node is rewritten does, so older folders are
 *  not taken for current ones. */
const layoutVersion = 'sandbox-tools/1';

export interface SandboxTools {
  /** Host folder to mount read-only at sandboxToolsDir. */
  dir: string;
  /** Hash of everything in it (also the folder's name). */
  key: string;
}

/** One file of the tools folder: where it comes from on the host and its path in the folder. */
interface Source {
  from: string;
  name: string;
  /** node's program interpreter. */
  loader?: boolean;
}

export interface NodeLinkage {
  /** The program interpreter (ld-linux), absent for a statically linked node. */
  loader?: string;
  /** Shared libraries by the name node asks for (soname) and the file that answers it. */
  libraries: Array<{ name: string; path: string }>;
}

/** Reads `ldd`'s listing of a dynamically linked program; throws on a library it did not find. */
export function parseLdd(program: string, listing: string): NodeLinkage {
  const linkage: NodeLinkage = { libraries: [] };
  const missing: string[] = [];
  for (const raw of listing.split('\n')) {
    const line = raw.trim();
    const resolved = /^(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$/.exec(line);
    if (resolved) {
      if (resolved[2] === 'not found') missing.push(resolved[1]!);
      // The vDSO is in every process already; some ldd versions list it with an empty path.
      else if (resolved[2]!.startsWith('/')) linkage.libraries.push({ name: resolved[1]!, path: resolved[2]! });
      continue;
    }
    const direct = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (direct) linkage.loader = direct[1]!;
  }
  if (missing.length) throw new Error(`${program} needs libraries the host does not have: ${missing.join(', ')}`);
  if (linkage.libraries.length && !linkage.loader) throw new Error(`ldd names no program interpreter for ${program}:\n${listing}`);
  return linkage;
}

async function nodeLinkage(nodePath: string): Promise<NodeLinkage> {
  try {
    return parseLdd(nodePath, await runCommand('ldd', [nodePath]));
  } catch (err) {
    if (/not a dynamic executable|statically linked/.test((err as Error).message)) return { libraries: [] };
    throw err;
  }
}

async function sourcesOf(nodePath: string, tiniPath: string): Promise<Source[]> {
  const linkage = await nodeLinkage(nodePath);
  const libs = path.basename(sandboxNodeLibs);
  const sources: Source[] = [
    { from: nodePath, name: 'node' },
    { from: tiniPath, name: 'tini' },
    ...linkage.libraries.map((lib) => ({ from: lib.path, name: `${libs}/${lib.name}` })),
  ];
  if (linkage.loader) sources.push({ from: linkage.loader, name: `${libs}/${path.basename(linkage.loader)}`, loader: true });
  // A loader that node also names as a library is listed twice.
  const unique = [...new Map(sources.map((s) => [s.name, s])).values()];
  for (const s of unique) {
    s.from = await realpath(s.from).catch((err: NodeJS.ErrnoException) => {
      const hint = s.from === tiniPath ? ' (Debian\'s tini package ships it; run scripts/setup-host.sh)' : '';
      throw new Error(`cannot prepare the programs mounted into sandboxes: ${s.from}: ${err.code ?? err.message}${hint}`);
    });
  }
  return unique.sort((a, b) => a.name.localeCompare(b.name));
}

/** Identity of the sources as the file system reports it: any rewrite changes the inode change
 *  time, so an unchanged stamp lets a start skip hashing ~100 MB. */
async function sourcesStamp(sources: Source[]): Promise<string> {
  const stamps = await Promise.all(sources.map(async (s) => {
    const st = await stat(s.from, { bigint: true });
    return `${s.name}=${s.from}:${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  }));
  return createHash('sha256').update([layoutVersion, ...stamps].join('\n')).digest('hex').slice(0, 24);
}

async function contentKey(sources: Source[]): Promise<string> {
  const hash = createHash('sha256').update(`${layoutVersion}\n`);
  for (const s of sources) {
    hash.update(`${s.name}\n`);
    for await (const chunk of createReadStream(s.from)) hash.update(chunk as Buffer);
    hash.update('\n');
  }
  return hash.digest('hex').slice(0, 24);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** Copies the sources into `dir` and points node at the libraries beside it. */
async function fill(dir: string, sources: Source[]): Promise<void> {
  await mkdir(path.join(dir, path.basename(sandboxNodeLibs)), { recursive: true });
  await mkdir(path.join(dir, path.basename(sandboxBundleDir)));
  for (const s of sources) {
    await copyFile(s.from, path.join(dir, s.name));
    await chmod(path.join(dir, s.name), 0o755);
  }
  const loader = sources.find((s) => s.loader);
  if (!loader) return;
  const node = path.join(dir, 'node');
  // DT_RPATH rather than DT_RUNPATH: it is searched before LD_LIBRARY_PATH and for the libraries'
  // own dependencies, so nothing in a user's environment or the image swaps a library under node.
  await runCommand('patchelf', ['--set-interpreter', `${sandboxToolsDir}/${loader.name}`, '--force-rpath', '--set-rpath', sandboxNodeLibs, node]);
  // The interpreter path only exists inside sandboxes; run the copy through its loader here to
  // check that the rewritten binary still starts.
  const libs = path.join(dir, path.basename(sandboxNodeLibs));
  const out = await runCommand(path.join(dir, loader.name), ['--library-path', libs, node, '-p', 'process.versions.node']);
  if (!out.trim()) throw new Error(`the rewritten node in ${dir} printed no version`);
}

/**
 * The tools folder for `nodePath` in `cacheDir`, made if missing. Safe to call from several
 * processes at once: each fills a folder of its own and renames it into place.
 */
export async function prepareSandboxTools(opts: { nodePath: string; cacheDir: string; tiniPath?: string }): Promise<SandboxTools> {
  // Absolute: the folder is a mount source.
  const cacheDir = path.resolve(opts.cacheDir);
  const sources = await sourcesOf(opts.nodePath, opts.tiniPath ?? hostStaticTini);
  await mkdir(cacheDir, { recursive: true });
  const stampLink = path.join(cacheDir, `source-${await sourcesStamp(sources)}`);
  const known = await readlink(stampLink).catch(() => undefined);
  if (known && (await exists(path.join(cacheDir, known, 'node')))) return { dir: path.join(cacheDir, known), key: known };

  const key = await contentKey(sources);
  const dir = path.join(cacheDir, key);
  if (!(await exists(path.join(dir, 'node')))) {
    const partial = path.join(cacheDir, `.partial-${key}-${randomBytes(4).toString('hex')}`);
    try {
      await fill(partial, sources);
      // Another process may have renamed its copy into place first; then keep that one.
      await rename(partial, dir).catch((err: NodeJS.ErrnoException) => {
        if (!['EEXIST', 'ENOTEMPTY'].includes(err.code ?? '')) throw err;
      });
    } catch (err) {
      throw new Error(`cannot prepare the programs mounted into sandboxes in ${cacheDir}: ${(err as Error).message}`, { cause: err });
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
  }
  const linkTmp = `${stampLink}.${randomBytes(4).toString('hex')}`;
  await symlink(key, linkTmp);
  await rename(linkTmp, stampLink);
  return { dir, key };
}
