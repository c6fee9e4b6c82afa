// `filesystem.Filesystem` (protocol §4.6): stat, list, mkdir, move, remove and directory watches.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { randomUUID } from 'node:crypto';
import { cp, lstat, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { Channel, keepaliveMs } from '../channel.js';
import { DirWatcher, type WatchEvent } from './dir-watcher.js';
import { entryInfo, type EntryInit } from './entry-info.js';
import { EventType, FileType, Filesystem } from '../gen/envd/filesystem_pb.js';
import { addMetadata } from './metadata.js';
import { ensureDirs, exists, resolveUserPath } from './paths.js';
import { requestUser } from '../rpc-auth.js';
import { fsError } from './rpc-errors.js';
import type { User } from '../users.js';

function resolve(p: string, user: User): string {
  try {
    return resolveUserPath(p, user);
  } catch (err) {
    throw fsError(err, p);
  }
}

function target(p: string, ctx: HandlerContext): { abs: string; user: User } {
  const user = requestUser(ctx.requestHeader);
  return { abs: resolve(p, user), user };
}

/** EntryInfo with the file's metadata. */
async function entryOf(abs: string): Promise<EntryInit> {
  let entry: EntryInit;
  try {
    entry = await entryInfo(abs);
  } catch (err) {
    throw fsError(err, abs);
  }
  return (await addMetadata([entry]))[0]!;
}

/** Throws not_found / invalid_argument unless `abs` is a directory (following symlinks). */
async function requireDirectory(abs: string): Promise<void> {
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    throw fsError(err, abs);
  }
  if (!st.isDirectory()) throw new ConnectError(`path '${abs}' is not a directory`, Code.InvalidArgument);
}

/** Entries below `dir` down to `depth` levels; symlinked directories are listed, not entered. */
async function walk(dir: string, depth: number, out: EntryInit[]): Promise<void> {
  const names = (await readdir(dir)).sort();
  const entries = await Promise.all(names.map((n) => entryInfo(path.join(dir, n)).catch(() => undefined)));
  for (const entry of entries) {
    if (!entry) continue; // Vanished between readdir and lstat.
    out.push(entry);
    if (depth > 1 && entry.symlinkTarget === undefined && entry.type === FileType.DIRECTORY) {
      await walk(entry.path!, depth - 1, out).catch(() => undefined);
    }
  }
}

// Filesystem magic numbers (linux/magic.h) of network mounts: NFS, CIFS, SMB, SMB2 and FUSE.
const networkFsTypes = new Set([0x6969, 0xff534d42, 0x517b, 0xfe534d42, 0x65735546]);

/** A watch of a network mount sees only this sandbox's own changes there, so, as envd 0.6.4 does,
 *  it is refused unless the client allows it. */
async function requireWatchable(abs: string, allowNetworkMounts: boolean): Promise<void> {
  await requireDirectory(abs);
  if (allowNetworkMounts) return;
  const fs = await statfs(abs).catch((err: unknown) => {
    throw fsError(err, abs);
  });
  if (networkFsTypes.has(fs.type)) {
    throw new ConnectError(`cannot watch path on network filesystem: ${abs} (watch with allowNetworkMounts to allow it)`, Code.InvalidArgument);
  }
}

/** The event as the client gets it: with the entry it is about when the watch asked for entries
 *  and the file exists (an upload's entry is its temporary file's, under the destination's name). */
async function clientEvent(root: string, e: WatchEvent, includeEntry: boolean): Promise<{ name: string; type: EventType; entry?: EntryInit }> {
  const event = { name: e.name, type: e.type };
  if (!includeEntry || e.type === EventType.REMOVE || e.type === EventType.RENAME) return event;
  const abs = path.join(root, e.name);
  const described = async (file: string) => (await addMetadata([await entryInfo(file)]))[0];
  let entry = await described(e.source ?? abs).catch(() => undefined);
  // An upload's temporary file may be renamed into place while it is looked at (its metadata,
  // read by a helper process, then missed): the file in place is the whole upload.
  if (e.source && !(await exists(e.source).catch(() => false))) entry = await described(abs).catch(() => undefined);
  if (!entry) return event;
  return { ...event, entry: { ...entry, name: path.basename(abs), path: abs } };
}

interface PollingWatcher {
  watcher: DirWatcher;
  root: string;
  includeEntry: boolean;
  events: WatchEvent[];
  error?: Error;
}

const pollingWatchers = new Map<string, PollingWatcher>();
// A polling client that stops polling must not make envd grow without bound.
const maxBufferedEvents = 10_000;

function startWatcher(abs: string, recursive: boolean, onEvent: (e: WatchEvent) => void, onError: (e: Error) => void) {
  try {
    return new DirWatcher(abs, recursive, onEvent, onError);
  } catch (err) {
    throw fsError(err, abs);
  }
}

export const filesystemService: Partial<ServiceImpl<typeof Filesystem>> = {
  async stat(req, ctx) {
    const { abs } = target(req.path, ctx);
    return { entry: await entryOf(abs) };
  },

  async listDir(req, ctx) {
    const { abs } = target(req.path, ctx);
    await requireDirectory(abs);
    const entries: EntryInit[] = [];
    try {
      await walk(abs, Math.max(1, req.depth), entries);
    } catch (err) {
      throw fsError(err, abs);
    }
    return { entries: await addMetadata(entries) };
  },

  async makeDir(req, ctx) {
    const { abs, user } = target(req.path, ctx);
    const existing = await stat(abs).catch(() => undefined);
    if (existing?.isDirectory()) throw new ConnectError(`directory already exists: ${abs}`, Code.AlreadyExists);
    if (existing) throw new ConnectError(`path already exists but it is not a directory: ${abs}`, Code.InvalidArgument);
    try {
      await ensureDirs(abs, user);
    } catch (err) {
      throw fsError(err, abs);
    }
    return { entry: await entryOf(abs) };
  },

  async move(req, ctx) {
    const user = requestUser(ctx.requestHeader);
    const source = resolve(req.source, user);
    const destination = resolve(req.destination, user);
    try {
      await lstat(source);
    } catch (err) {
      throw fsError(err, source);
    }
    try {
      await ensureDirs(path.dirname(destination), user);
      await rename(source, destination).catch(async (err: NodeJS.ErrnoException) => {
        // Across filesystems, or an overlayfs lower-layer directory: copy, then delete.
        if (err.code !== 'EXDEV') throw err;
        await cp(source, destination, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
        await rm(source, { recursive: true, force: true });
      });
    } catch (err) {
      throw fsError(err, destination);
    }
    return { entry: await entryOf(destination) };
  },

  // A path that does not exist is removed already (as envd's os.RemoveAll has it; the SDK's
  // own tests expect no error).
  async remove(req, ctx) {
    const { abs } = target(req.path, ctx);
    try {
      await rm(abs, { recursive: true, force: true });
    } catch (err) {
      throw fsError(err, abs);
    }
    return {};
  },

  async *watchDir(req, ctx) {
    const { abs } = target(req.path, ctx);
    await requireWatchable(abs, req.allowNetworkMounts);
    const events = new Channel<WatchEvent | Error>();
    const watcher = startWatcher(abs, req.recursive, (e) => events.push(e), (err) => {
      events.push(err);
      events.close();
    });
    try {
      yield { event: { case: 'start' as const, value: {} } };
      for await (const e of events.stream(ctx.signal, keepaliveMs(ctx.requestHeader), 'keepalive' as const)) {
        if (e === 'keepalive') yield { event: { case: 'keepalive' as const, value: {} } };
        else if (e instanceof Error) throw new ConnectError(`watcher error: ${e.message}`, Code.Internal);
        else yield { event: { case: 'filesystem' as const, value: await clientEvent(abs, e, req.includeEntry) } };
      }
    } finally {
      watcher.close();
    }
  },

  async createWatcher(req, ctx) {
    const { abs } = target(req.path, ctx);
    await requireWatchable(abs, req.allowNetworkMounts);
    const events: WatchEvent[] = [];
    const entry: PollingWatcher = {
      events,
      root: abs,
      includeEntry: req.includeEntry,
      watcher: startWatcher(
        abs,
        req.recursive,
        (e) => {
          if (events.length < maxBufferedEvents) events.push(e);
        },
        (err) => {
          entry.error = err;
        },
      ),
    };
    const watcherId = randomUUID();
    pollingWatchers.set(watcherId, entry);
    return { watcherId };
  },

  async getWatcherEvents(req) {
    const entry = pollingWatchers.get(req.watcherId);
    if (!entry) throw new ConnectError(`watcher '${req.watcherId}' not found`, Code.NotFound);
    if (entry.error) throw new ConnectError(`watcher error: ${entry.error.message}`, Code.Internal);
    const events = entry.events.splice(0);
    return { events: await Promise.all(events.map((e) => clientEvent(entry.root, e, entry.includeEntry))) };
  },

  removeWatcher(req) {
    const entry = pollingWatchers.get(req.watcherId);
    if (!entry) throw new ConnectError(`watcher '${req.watcherId}' not found`, Code.NotFound);
    entry.watcher.close();
    pollingWatchers.delete(req.watcherId);
    return {};
  },
};
