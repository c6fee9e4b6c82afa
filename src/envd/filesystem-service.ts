// `filesystem.Filesystem` (protocol §4.6): stat, list, mkdir, move, remove and directory watches.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { randomUUID } from 'node:crypto';
import { cp, lstat, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Channel, keepaliveMs } from './channel.js';
import { DirWatcher, type WatchEvent } from './dir-watcher.js';
import { entryInfo, type EntryInit } from './entry-info.js';
import { FileType, Filesystem } from './gen/envd/filesystem_pb.js';
import { ensureDirs, resolveUserPath } from './paths.js';
import { requestUser } from './rpc-auth.js';
import { fsError } from './rpc-errors.js';
import type { User } from './users.js';

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

async function entryOf(abs: string): Promise<EntryInit> {
  try {
    return await entryInfo(abs);
  } catch (err) {
    throw fsError(err, abs);
  }
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

interface PollingWatcher {
  watcher: DirWatcher;
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
    return { entries };
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

  async remove(req, ctx) {
    const { abs } = target(req.path, ctx);
    try {
      await lstat(abs);
      await rm(abs, { recursive: true, force: true });
    } catch (err) {
      throw fsError(err, abs);
    }
    return {};
  },

  async *watchDir(req, ctx) {
    const { abs } = target(req.path, ctx);
    await requireDirectory(abs);
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
        else yield { event: { case: 'filesystem' as const, value: e } };
      }
    } finally {
      watcher.close();
    }
  },

  async createWatcher(req, ctx) {
    const { abs } = target(req.path, ctx);
    await requireDirectory(abs);
    const events: WatchEvent[] = [];
    const entry: PollingWatcher = {
      events,
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

  getWatcherEvents(req) {
    const entry = pollingWatchers.get(req.watcherId);
    if (!entry) throw new ConnectError(`watcher '${req.watcherId}' not found`, Code.NotFound);
    if (entry.error) throw new ConnectError(`watcher error: ${entry.error.message}`, Code.Internal);
    return { events: entry.events.splice(0) };
  },

  removeWatcher(req) {
    const entry = pollingWatchers.get(req.watcherId);
    if (!entry) throw new ConnectError(`watcher '${req.watcherId}' not found`, Code.NotFound);
    entry.watcher.close();
    pollingWatchers.delete(req.watcherId);
    return {};
  },
};
