// Clones and snapshots: a sandbox's memory and files saved (the source frozen for that moment, or
// copied from its pause checkpoint) and restored as new sandboxes now (clone) or later (snapshot).
// The journal row names the saved image and the clones, so recovery can undo a call a crash cut
// short: it either completes or leaves nothing of itself, and never touches the source.
import { errors } from '../errors.js';
import type { CheckpointRef } from '../runtime/runtime.js';
import type { SandboxRecord } from '../store/sandbox-store.js';
import type { SnapshotRecord } from '../store/snapshot-store.js';
import type { Lifecycle } from './lifecycle.js';
import { originOf } from './sandbox-records.js';
import { newCloneCheckpoint, savedSource, snapshotCheckpoint } from './saved-states.js';
import { newSandboxId } from './ids.js';
import { decodeSnapshotToken, encodeSnapshotToken } from './page-tokens.js';

export interface CloneInput {
  count: number;
  strict: boolean;
  timeoutSeconds?: number;
}

export interface ForkInput {
  count: number;
  timeoutSeconds?: number;
}

/** A snapshot name: what a template name may be, with `/` for a project prefix; no `:` (tags). */
const snapshotName = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

/** Most forks one call makes (the e2b API's limit). */
export const maxForkCount = 100;

/** What a clone's journal row holds: the name of its image (a `clone` checkpoint) and its clones. */
export interface CloneDetail {
  image: string;
  clones: string[];
}

/** What a snapshot's journal row holds. */
export interface SnapshotDetail {
  snapshotId: string;
}

export class Clones {
  constructor(
    private readonly lc: Lifecycle,
    private readonly checkTimeout: (seconds: number | undefined) => number,
    private readonly withCapacity: <T>(adding: number, work: () => Promise<T>) => Promise<T>,
  ) {}

  /** Saves a sandbox's memory and files as `ref`, leaving it as it was; the address it was saved
   *  at comes back for the restores. A failure is `fail`'s coded error. */
  private async saveState(rec: SandboxRecord, ref: CheckpointRef, fail: (cause: unknown) => Error): Promise<string> {
    const address = this.lc.records.addressOf(rec);
    if (rec.state === 'paused' && this.lc.store.pauseOptions(rec.id).pausedWithoutMemory) throw errors.pausedWithoutMemory(rec.id);
    try {
      if (rec.state === 'running') await this.lc.runtime.checkpoint(rec.id, ref, 'snapshot');
      else await this.lc.runtime.copyStopped(rec.id, ref);
    } catch (err) {
      throw fail(err);
    }
    return address;
  }

  async clone(id: string, input: CloneInput, get: (id: string) => SandboxRecord): Promise<SandboxRecord[]> {
    const { maxCloneCount } = this.lc.config;
    if (!Number.isInteger(input.count) || input.count < 1 || input.count > maxCloneCount) {
      throw errors.invalidCloneCount(input.count, maxCloneCount);
    }
    if (input.timeoutSeconds !== undefined) this.checkTimeout(input.timeoutSeconds);
    return this.withCapacity(input.count, () =>
      this.copy(id, input.count, input.timeoutSeconds, get, async (results) => {
        const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failure && (input.strict || made.length === 0)) {
          await Promise.all(made.map((c) => this.lc.kill(c.id)));
          throw errors.cloneFailed(id, made.length, input.count, failure.reason);
        }
        if (failure) this.lc.log.warn({ sandboxId: id, err: failure.reason }, `clone made ${made.length} of ${input.count}`);
        return made;
      }),
    );
  }

  /** The e2b SDK's fork: clones that succeed or fail one by one, each failure reported in its
   *  place (the call fails as a whole only when the source cannot be saved). */
  async fork(id: string, input: ForkInput, get: (id: string) => SandboxRecord): Promise<PromiseSettledResult<SandboxRecord>[]> {
    if (!Number.isInteger(input.count) || input.count < 1 || input.count > maxForkCount) {
      throw errors.invalidForkCount(input.count, maxForkCount);
    }
    if (input.timeoutSeconds !== undefined) this.checkTimeout(input.timeoutSeconds);
    // The source must exist before capacity is asked for: a killed one is a 404, not a 429.
    get(id);
    return this.withCapacity(input.count, () => this.copy(id, input.count, input.timeoutSeconds, get, async (results) => results));
  }

  /** Saves the source once and starts `count` sandboxes from it; `settle` decides, within the
   *  journaled call, what becomes of the outcomes. */
  private copy<T>(
    id: string,
    count: number,
    timeout: number | undefined,
    get: (id: string) => SandboxRecord,
    settle: (results: PromiseSettledResult<SandboxRecord>[]) => Promise<T>,
  ): Promise<T> {
    const { defaultTimeoutSeconds } = this.lc.config;
    const image = newCloneCheckpoint();
    const detail: CloneDetail = { image: image.name, clones: [] };
    return this.lc.operate('clone', id, { ...detail }, async (journalId) => {
      const { source, address } = await this.lc.queue.run(id, async () => {
        const src = get(id);
        if (src.state !== 'running' && src.state !== 'paused') throw errors.sandboxNotRunning(id, src.state);
        return { source: src, address: await this.saveState(src, image, (err) => errors.cloneFailed(id, 0, count, err)) };
      });
      try {
        // A running source passes on its timeout; a paused one the default.
        const timeoutSeconds = this.checkTimeout(timeout ?? (source.state === 'running' ? source.timeoutSeconds : defaultTimeoutSeconds));
        // Everything the source was created with, its size included; a timeout of its own.
        // Its volumes too: the saved image has them as external mounts, bound again at restore.
        const volumeMounts = this.lc.records.volumesOf(source.id);
        const reserved = Array.from({ length: count }, () => this.lc.records.reserve({ ...source, origin: originOf(source), timeoutSeconds, volumeMounts }));
        this.lc.operations.setDetail(journalId, { ...detail, clones: reserved.map((r) => r.id) });
        const saved = { source: savedSource(image, address), token: source.envdToken };
        return await settle(await Promise.allSettled(reserved.map((rec) => this.lc.queue.run(rec.id, () => this.lc.start(rec, saved)))));
      } finally {
        // Every restore has read it whole: its space is freed after the answer.
        await this.lc.runtime.discardCheckpoint(image);
      }
    });
  }

  /** Saves a sandbox's state as a snapshot that new sandboxes can be created from, by its id or
   *  by `name` (a name used before then names this newer snapshot). */
  async createSnapshot(id: string, get: (id: string) => SandboxRecord, name?: string): Promise<SnapshotRecord> {
    if (name !== undefined) {
      if (!snapshotName.test(name)) throw errors.invalidSnapshotName(name);
      // Creates look templates up first: a snapshot of a template's name could never be used.
      if (this.lc.resolveTemplate(name)) throw errors.snapshotNameTaken(name);
    }
    const snapshotId = `snap-${newSandboxId()}`;
    const detail: SnapshotDetail = { snapshotId };
    return this.lc.operate('snapshot', id, { ...detail }, () =>
      this.lc.queue.run(id, async () => {
        const src = get(id);
        if (src.state !== 'running' && src.state !== 'paused') throw errors.sandboxNotRunning(id, src.state);
        const address = await this.saveState(src, snapshotCheckpoint(snapshotId), (err) => errors.snapshotFailed(id, err));
        const snapshot: SnapshotRecord = {
          id: snapshotId,
          sourceSandboxId: src.id,
          layers: src.layers,
          startCmd: src.startCmd,
          cpuCount: src.cpuCount,
          memoryMB: src.memoryMB,
          diskSizeMB: src.diskSizeMB,
          address,
          envdToken: src.envdToken,
          createdAt: Date.now(),
          name: name ?? null,
        };
        // Its volumes with it: the saved image binds them again in every sandbox made from it.
        const volumes = this.lc.records.volumesOf(id);
        this.lc.operations.durably(() => {
          this.lc.snapshots.insert(snapshot);
          this.lc.records.recordSnapshotVolumes(snapshotId, volumes);
        });
        return snapshot;
      }),
    );
  }

  /** Newest first; `name` matches a snapshot's id or name, either optionally tagged `:default`. */
  listSnapshots(sandboxId: string | undefined, limit: number, nextToken: string | undefined, name?: string): { items: SnapshotRecord[]; nextToken?: string } {
    const ref = name?.replace(/:default$/, '');
    const all = this.lc.snapshots
      .all()
      .filter((s) => (sandboxId === undefined || s.sourceSandboxId === sandboxId) && (ref === undefined || s.id === ref || s.name === ref));
    const start = nextToken === undefined ? 0 : all.findIndex((s) => s.id === decodeSnapshotToken(nextToken));
    if (start < 0) throw errors.badRequest(`nextToken '${nextToken}' does not name a snapshot`);
    const items = all.slice(start, start + limit);
    const next = all[start + limit];
    return { items, nextToken: next ? encodeSnapshotToken(next.id) : undefined };
  }

  /** Deletes a snapshot; false when there is none of that id. Sandboxes made from it keep their
   *  own copy of what they need. */
  async deleteSnapshot(ref: string): Promise<boolean> {
    const snapshot = this.lc.snapshots.get(ref);
    if (!snapshot || !this.lc.snapshots.delete(snapshot.id)) return false;
    await this.lc.runtime.deleteCheckpoint(snapshotCheckpoint(snapshot.id));
    return true;
  }
}
