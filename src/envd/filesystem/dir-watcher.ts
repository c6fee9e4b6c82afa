// Directory watching for WatchDir and the polling watchers. One inotify watch per directory
// (fs.watch), so recursion is ours: new subdirectories get a watch when they appear. fs.watch only
// says "rename" or "change"; a stat tells create from remove, and write from chmod (a chmod moves
// ctime but not mtime).
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { EventType } from '../gen/envd/filesystem_pb.js';
import { isUploadTarget, uploadOf } from './uploads.js';

export interface WatchEvent {
  /** Path relative to the watched directory. */
  name: string;
  type: EventType;
  /** The file the event is about when it is not `name` yet: an upload's temporary file. */
  source?: string;
}

export class DirWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  // Stats run one after another so events keep the order the kernel reported them in.
  private pending: Promise<void> = Promise.resolve();
  private closed = false;
  // Upload temporary files whose CREATE was already reported (their rename away is not news).
  private readonly announced = new Set<string>();

  /** Throws (like fs.watch) when `root` cannot be watched. */
  constructor(
    private readonly root: string,
    private readonly recursive: boolean,
    private readonly onEvent: (event: WatchEvent) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.add('');
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private add(rel: string): void {
    if (this.closed || this.watchers.has(rel)) return;
    const w = watch(path.join(this.root, rel), (kind, filename) => {
      if (filename) this.queue(rel === '' ? filename : path.join(rel, filename), kind);
    });
    w.on('error', (err) => (rel === '' ? this.onError(err) : this.drop(rel)));
    this.watchers.set(rel, w);
    if (this.recursive) void this.addChildren(rel);
  }

  private async addChildren(rel: string): Promise<void> {
    const entries = await readdir(path.join(this.root, rel), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      try {
        this.add(path.join(rel, entry.name));
      } catch {
        // Gone meanwhile, or out of inotify watches: the rest of the tree is still watched.
      }
    }
  }

  /** Stops watching `rel` and everything below it. */
  private drop(rel: string): void {
    for (const [dir, w] of this.watchers) {
      if (dir !== '' && (dir === rel || dir.startsWith(rel + path.sep))) {
        w.close();
        this.watchers.delete(dir);
      }
    }
  }

  private queue(name: string, kind: string): void {
    this.pending = this.pending.then(() => this.classify(name, kind));
  }

  private async classify(name: string, kind: string): Promise<void> {
    if (this.closed) return;
    const abs = path.join(this.root, name);
    const upload = uploadOf(abs);
    if (upload) return this.uploadEvent(abs, upload.target, upload.existed, kind);
    const st = await lstat(abs).catch(() => undefined);
    if (this.closed) return;
    if (kind === 'rename') {
      if (st && isUploadTarget(abs)) return; // An upload's temporary file renamed into place.
      this.onEvent({ name, type: st ? EventType.CREATE : EventType.REMOVE });
      if (!st) this.drop(name);
      else if (this.recursive && st.isDirectory()) {
        try {
          this.add(name);
        } catch {
          // Removed again before we could watch it.
        }
      }
    } else if (st) {
      this.onEvent({ name, type: st.ctimeMs !== st.mtimeMs ? EventType.CHMOD : EventType.WRITE });
    }
  }

  /** An upload's temporary file, reported under the destination's name as an in-place write. */
  private uploadEvent(tmp: string, target: string, existed: boolean, kind: string): void {
    const name = path.relative(this.root, target);
    if (kind === 'change') this.onEvent({ name, type: EventType.WRITE, source: tmp });
    else if (this.announced.delete(tmp)) return; // Renamed into place (or cleaned up).
    else if (!existed) {
      this.announced.add(tmp);
      this.onEvent({ name, type: EventType.CREATE, source: tmp });
    }
  }
}
