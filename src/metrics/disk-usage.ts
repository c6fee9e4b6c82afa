// Disk use of sandboxes' writable layers, measured like `du` (allocated blocks of every entry, hard
// links once) but a bounded slice of time at a time: each walk is resumable, and one call of
// `advance` works on the due walks, round robin, until its budget is spent. A layer of a million
// files is then measured over several samples instead of stalling the event loop; until a walk
// completes, the previous figure stands. Reads are synchronous: a directory entry costs one
// lstat, far less than a thread-pool round trip would.
import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

interface Walk {
  root: string;
  dirs: string[];
  /** Entries of the directory being read that are still to be measured. */
  pending: Dirent[];
  pendingDir: string;
  bytes: number;
  /** dev:ino of multiply linked files already counted. */
  linked: Set<string>;
}

interface Layer {
  root: string;
  /** Result of the last complete walk. */
  bytes?: number;
  completedAt: number;
  walk?: Walk;
}

export class DiskUsage {
  private readonly layers = new Map<string, Layer>();
  /** Where the round robin resumes, so no layer waits behind the others forever. */
  private cursor = 0;

  /** @param refreshMs  how long a complete figure stays current before a new walk starts */
  constructor(private readonly refreshMs: number) {}

  /** Last complete figure for a sandbox, or undefined before its first walk completes. */
  bytes(id: string): number | undefined {
    return this.layers.get(id)?.bytes;
  }

  /** Keeps exactly the given layers (id → folder). */
  track(layers: Map<string, string>): void {
    for (const id of this.layers.keys()) if (!layers.has(id)) this.layers.delete(id);
    for (const [id, root] of layers) {
      const known = this.layers.get(id);
      if (!known || known.root !== root) this.layers.set(id, { root, completedAt: 0 });
    }
  }

  forget(id: string): void {
    this.layers.delete(id);
  }

  /** Measures until `budgetMs` of wall time is spent or every due walk is done. */
  advance(budgetMs: number, now = Date.now()): void {
    const deadline = performance.now() + budgetMs;
    const entries = [...this.layers.values()];
    for (let i = 0; i < entries.length; i++) {
      const layer = entries[(this.cursor + i) % entries.length]!;
      if (!layer.walk && now - layer.completedAt < this.refreshMs) continue;
      if (!layer.walk) {
        layer.walk = { root: layer.root, dirs: [layer.root], pending: [], pendingDir: layer.root, bytes: 0, linked: new Set() };
        measure(layer.walk, layer.root);
      }
      if (!step(layer.walk, deadline)) {
        this.cursor = (this.cursor + i) % entries.length;
        return;
      }
      layer.bytes = layer.walk.bytes;
      layer.completedAt = now;
      layer.walk = undefined;
    }
    this.cursor = entries.length === 0 ? 0 : (this.cursor + 1) % entries.length;
  }
}

function measure(walk: Walk, file: string): boolean {
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (!st) return false; // removed while we walked
  if (st.nlink > 1 && !st.isDirectory()) {
    const key = `${st.dev}:${st.ino}`;
    if (walk.linked.has(key)) return false;
    walk.linked.add(key);
  }
  walk.bytes += st.blocks * 512;
  return st.isDirectory();
}

/** Works on a walk until the deadline; true when it is complete. */
function step(walk: Walk, deadline: number): boolean {
  for (;;) {
    while (walk.pending.length > 0) {
      const entry = walk.pending.pop()!;
      const file = path.join(walk.pendingDir, entry.name);
      if (measure(walk, file) && entry.isDirectory()) walk.dirs.push(file);
      if ((walk.pending.length & 63) === 0 && performance.now() > deadline) return false;
    }
    const dir = walk.dirs.pop();
    if (dir === undefined) return true;
    try {
      walk.pending = readdirSync(dir, { withFileTypes: true });
    } catch {
      walk.pending = []; // removed, or the sandbox went away
    }
    walk.pendingDir = dir;
    if (performance.now() > deadline) return false;
  }
}
